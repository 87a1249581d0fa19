// tickpipe dashboard: the latest quote per symbol and a live candlestick
// chart, from /api/latest, /api/bars and the /stream WebSocket (served by
// `tickpipe run --http`). Plain ES module; lightweight-charts is loaded by
// index.html from the build's copy of the npm package (no CDN).

const SPARK = 60;
const quotes = new Map();   // symbol -> {price, change, cum, time, first, spark[]}
const params = new URLSearchParams(location.search);
const state = { symbol: params.get('symbol'), interval: params.get('interval') || '1m',
                candles: 0, barUpdates: 0, ticks: 0, lastBar: null, dirty: false };
window.tpDash = state;      // read by tests/e2e/dashboard.mjs

const $ = (id) => document.getElementById(id);
const fmt = (v, d = 2) => (v === null || v === undefined || !isFinite(v)) ? '' :
  Number(v).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

// ---------- the chart ----------
const chart = LightweightCharts.createChart($('chart'), {
  autoSize: true,
  layout: { background: { color: '#101418' }, textColor: '#d8dee4' },
  grid: { vertLines: { color: '#1c2126' }, horzLines: { color: '#1c2126' } },
  timeScale: { timeVisible: true, secondsVisible: true },
});
const candles = chart.addCandlestickSeries();
const volume = chart.addHistogramSeries({ priceFormat: { type: 'volume' }, priceScaleId: '' });
volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });

const toCandle = (b) => ({ time: Math.floor(b.start / 1000), open: b.open, high: b.high,
                           low: b.low, close: b.close });
const toVolume = (b) => ({ time: Math.floor(b.start / 1000), value: b.volume || 0,
                           color: b.close >= b.open ? '#1f6f4388' : '#9b2c2c88' });

async function loadChart() {
  if (!state.symbol) return;
  const q = new URLSearchParams({ symbol: state.symbol, interval: state.interval });
  const res = await fetch('/api/bars?' + q);
  const bars = res.ok ? await res.json() : [];
  candles.setData(bars.map(toCandle));
  volume.setData(bars.map(toVolume));
  state.candles = bars.length;
  state.lastBar = bars.length ? bars[bars.length - 1] : null;
  $('chart-note').textContent = `${bars.length} bars`;
  chart.timeScale().applyOptions({ barSpacing: 8 });
  chart.timeScale().scrollToRealTime();
}

function onBar(b) {
  if (b.symbol !== state.symbol || b.interval !== state.interval) return;
  if (state.lastBar && b.start < state.lastBar.start) return;   // chart only moves forward
  if (!state.lastBar || b.start > state.lastBar.start) state.candles++;
  candles.update(toCandle(b));
  volume.update(toVolume(b));
  state.lastBar = b;
  state.barUpdates++;
  $('chart-note').textContent = `${state.candles} bars`;
}

// ---------- the quote table ----------
function quote(symbol) {
  let q = quotes.get(symbol);
  if (!q) {
    q = { price: null, change: null, cum: null, time: 0, first: null, spark: [] };
    quotes.set(symbol, q);
    const opt = document.createElement('option');
    opt.textContent = symbol;
    $('symbol').append(opt);
    if (!state.symbol) { state.symbol = symbol; loadChart(); }
    $('symbol').value = state.symbol;
  }
  return q;
}

function onTick(t) {
  const q = quote(t.symbol);
  if (q.first === null) q.first = t.price;
  q.price = t.price;
  q.change = t.change !== null ? t.change : t.price - q.first;
  q.cum = t.cumAvgPrice;
  q.time = t.time;
  q.spark.push(t.price);
  if (q.spark.length > SPARK) q.spark.shift();
  state.ticks++;
  state.dirty = true;
}

function sparkline(canvas, values) {
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  if (values.length < 2) return;
  const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
  g.strokeStyle = values[values.length - 1] >= values[0] ? '#3fb950' : '#f85149';
  g.beginPath();
  values.forEach((v, i) => {
    const x = i * (canvas.width - 1) / (values.length - 1);
    const y = canvas.height - 1 - (v - lo) * (canvas.height - 2) / span;
    i ? g.lineTo(x, y) : g.moveTo(x, y);
  });
  g.stroke();
}

function row(symbol) {
  let tr = document.querySelector(`tr[data-symbol="${CSS.escape(symbol)}"]`);
  if (tr) return tr;
  tr = document.createElement('tr');
  tr.dataset.symbol = symbol;
  tr.innerHTML = '<td></td><td></td><td></td><td></td><td></td><td><canvas width="100" height="22"></canvas></td>';
  tr.cells[0].textContent = symbol;
  tr.onclick = () => { state.symbol = symbol; $('symbol').value = symbol; loadChart(); };
  const rows = [...$('rows').children, tr].sort((a, b) => a.dataset.symbol.localeCompare(b.dataset.symbol));
  $('rows').replaceChildren(...rows);
  return tr;
}

function render() {
  if (state.dirty) {
    state.dirty = false;
    const now = Date.now();
    for (const [symbol, q] of quotes) {
      const tr = row(symbol);
      tr.classList.toggle('selected', symbol === state.symbol);
      tr.cells[1].textContent = fmt(q.price);
      tr.cells[2].textContent = (q.change > 0 ? '+' : '') + fmt(q.change);
      tr.cells[2].className = q.change > 0 ? 'up' : q.change < 0 ? 'down' : '';
      tr.cells[3].textContent = fmt(q.cum);
      tr.cells[4].textContent = q.time ? `${Math.max(0, (now - q.time) / 1000).toFixed(1)} s` : '';
      sparkline(tr.cells[5].firstChild, q.spark);
    }
  }
  requestAnimationFrame(render);
}

// ---------- data ----------
async function loadLatest() {
  const res = await fetch('/api/latest');
  if (!res.ok) return;
  for (const l of await res.json()) {
    const q = quote(l.symbol);
    q.price = l.price; q.cum = l.cum_avg_price; q.time = l.time;
    if (q.first === null) q.first = l.price;
    q.change = 0;
  }
  state.dirty = true;
}

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/stream?conflate=250`);
  ws.onopen = () => { $('stream').textContent = 'stream: live'; $('stream').className = 'badge ok'; };
  ws.onmessage = (m) => {
    for (const e of JSON.parse(m.data)) e.type === 'tick' ? onTick(e) : onBar(e);
  };
  ws.onclose = () => {   // dropped as too slow, or the server went away: catch up, retry
    $('stream').textContent = 'stream: reconnecting'; $('stream').className = 'badge bad';
    setTimeout(() => { loadLatest(); loadChart(); connect(); }, 1000);
  };
}

async function poll() {
  try {
    const h = await fetch('/healthz');
    $('health').textContent = 'health: ' + (await h.text()).trim();
    $('health').className = 'badge ' + (h.ok ? 'ok' : 'bad');
    const g = await fetch('/api/gaps');
    const gaps = g.ok ? await g.json() : null;
    $('gaps').textContent = gaps ? `gaps: ${gaps.length}` : 'gaps: n/a';
    $('gaps').className = 'badge ' + (gaps && gaps.length ? 'bad' : gaps ? 'ok' : '');
  } catch (e) {
    $('health').textContent = 'health: unreachable'; $('health').className = 'badge bad';
  }
}

$('interval').value = state.interval;
$('interval').onchange = () => { state.interval = $('interval').value; loadChart(); };
$('symbol').onchange = () => { state.symbol = $('symbol').value; loadChart(); state.dirty = true; };
setInterval(() => { state.dirty = true; }, 1000);   // ages move on
setInterval(poll, 2000);
poll();
connect();
loadLatest().then(loadChart);
requestAnimationFrame(render);

// Drives the dashboard of a running `tickpipe run --http` in headless
// Chromium (playwright-core, locked in web/package-lock.json): waits for the
// quote table to fill, for candles to draw, then for the chart to update
// with new bars, and saves a screenshot. Every wait has a deadline.
// Usage: node dashboard.cjs URL SCREENSHOT.png  (CHROMIUM overrides the browser)
const { chromium } = require('playwright-core');

const WAIT = { timeout: 30000, polling: 100 };

async function main() {
  const [url, shot] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 640 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // /api/gaps answers 404 until the gaps table exists in this build.
    const expected404 = (m) => /\/api\/gaps|favicon/.test(m.location().url || '');
    page.on('console', (m) => {
      if (m.type() === 'error' && !expected404(m)) errors.push(m.text() + ' ' + (m.location().url || ''));
    });
    await page.goto(url);
    const symbols = Number(process.env.EXPECT_SYMBOLS || 6);
    await page.waitForFunction((n) => [...document.querySelectorAll('#rows tr')]
      .filter((tr) => tr.cells[1].textContent !== '').length >= n, symbols, WAIT);
    console.log('quote table: %d rows', await page.locator('#rows tr').count());
    await page.waitForFunction(() => window.tpDash.candles >= 2, null, WAIT);
    const before = await page.evaluate(() => ({ candles: tpDash.candles, updates: tpDash.barUpdates,
                                                ticks: tpDash.ticks }));
    console.log('chart: %d candles drawn', before.candles);
    const more = Number(process.env.TP_DASH_MORE_CANDLES || 1);   // more for a nicer picture
    await page.waitForFunction((a) => tpDash.candles >= a.b.candles + a.n &&
                               tpDash.barUpdates > a.b.updates + 3, { b: before, n: more },
                               { ...WAIT, timeout: WAIT.timeout + 1000 * more });
    const after = await page.evaluate(() => ({ candles: tpDash.candles, updates: tpDash.barUpdates,
                                               ticks: tpDash.ticks,
                                               health: document.getElementById('health').textContent }));
    console.log('chart: %d candles after %d bar updates; %d ticks streamed; %s',
                after.candles, after.updates, after.ticks, after.health);
    if (!after.health.includes('ok')) throw new Error('health badge: ' + after.health);
    // The candles are really painted: pixels of lightweight-charts' default
    // up (#26a69a) and down (#ef5350) colours on the chart's canvases.
    const painted = await page.evaluate(() => {
      let n = 0;
      for (const c of document.querySelectorAll('#chart canvas')) {
        if (!c.width || !c.height) continue;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) {
          const up = d[i] === 38 && d[i + 1] === 166 && d[i + 2] === 154;
          const down = d[i] === 239 && d[i + 1] === 83 && d[i + 2] === 80;
          if ((up || down) && d[i + 3] === 255) n++;
        }
      }
      return n;
    });
    console.log('chart: %d candle pixels painted', painted);
    if (painted < 50) throw new Error('the chart painted no candles');
    await page.screenshot({ path: shot });
    if (errors.length) throw new Error('errors in the page: ' + errors.join('; '));
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.error('dashboard test: ' + (e.stack || e)); process.exit(1); });

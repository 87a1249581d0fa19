// Keeps tickpipe's dashboard open in headless Chromium (playwright-core)
// for bench/bench_http.sh: prints "ready" once the page shows live data on
// its /stream socket, then stays open until stdin closes.
// Usage: node dashboard_open.cjs URL
const { chromium } = require('playwright-core');

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 640 } });
  await page.goto(process.argv[2]);
  await page.waitForFunction(() => document.getElementById('stream').textContent.includes('live'),
                             null, { timeout: 30000 });
  console.log('ready');
  process.stdin.resume();
  process.stdin.on('end', async () => {
    const ticks = await page.evaluate(() => window.tpDash.ticks);
    console.log('dashboard received %d conflated ticks', ticks);
    await browser.close();
    process.exit(0);
  });
})().catch((e) => { console.error('dashboard_open: ' + e); process.exit(1); });

// Open the OpenAPI page /docs in headless Chromium (Debian's, through playwright-core) with no
// network: every request to another origin is aborted and reported, and host names do not
// resolve. Reports what rendered, as JSON on stdout; test_docs_page.py asserts on it.
//
// stdin: {"chromium": "/usr/bin/chromium", "base": "http://127.0.0.1:PORT",
//         "screenshot": "/tmp/dir/docs.png"}
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const job = JSON.parse(readFileSync(0, 'utf8'));
const browser = await chromium.launch({
  executablePath: job.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
    // Offline: no name resolves, only the loopback server is reachable.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
});
const report = { console: [], requests: [], offOrigin: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(job.base + '/') || url.startsWith('data:') || url.startsWith('blob:')) {
      return route.continue();
    }
    report.offOrigin.push(url);
    return route.abort('internetdisconnected');
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') report.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => report.console.push(`pageerror: ${e.message}`));
  page.on('request', (r) => report.requests.push(r.url()));
  const response = await page.goto(job.base + '/docs');
  report.status = response.status();
  report.policy = response.headers()['content-security-policy'] || '';
  await page.waitForSelector('.opblock', { timeout: 30000 });
  Object.assign(report, await page.evaluate(() => ({
    title: document.title,
    infoTitle: (document.querySelector('.info .title') || {}).innerText || '',
    operations: document.querySelectorAll('.opblock').length,
    paths: Array.from(document.querySelectorAll('.opblock-summary-path')).map((e) => e.innerText.trim()),
    errors: Array.from(document.querySelectorAll('.errors-wrapper, .loading-container .error'))
      .map((e) => e.innerText),
  })));
  await page.screenshot({ path: job.screenshot, fullPage: false });
  report.screenshot = job.screenshot;
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report));

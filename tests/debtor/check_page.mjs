// Drive the recipient's check on /verify in headless Chromium (Debian's, through
// playwright-core) and report what a person would see, as JSON on stdout. The pytest side
// (test_check_page.py) starts the real server and asserts on this report.
//
// stdin: {"chromium": "/usr/bin/chromium", "base": "http://127.0.0.1:PORT",
//         "screenshots": "/tmp/dir",
//         "steps": [{"name": "qr", "open": "/verify?code=XXXX-XXXX-XXXX"},
//                   {"name": "typed", "code": "xxxx xxxx xxxx", "file": "/path"},
//                   {"name": "code-only", "code": "...", "clearFile": true}]}
// A step with "open" loads that page first; "code" types into the code box, "file" chooses
// a file, "clearFile" removes the chosen one, and any of them then presses the button.
// The screenshot shows the recipient's section, or the whole page with "fullPage".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const job = JSON.parse(readFileSync(0, 'utf8'));
const browser = await chromium.launch({
  executablePath: job.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const report = { steps: [], console: [], requests: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') report.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => report.console.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    const body = r.method() === 'POST' ? (r.postDataBuffer() || Buffer.alloc(0)) : Buffer.alloc(0);
    report.requests.push({ method: r.method(), url: r.url(), type: r.headers()['content-type'] || null,
      size: body.length,
      parts: Array.from(body.toString('latin1').matchAll(/name="([^"]+)"/g), (m) => m[1]) });
  });

  for (const step of job.steps) {
    if (step.viewport) await page.setViewportSize(step.viewport);
    if (step.open) {
      await page.goto(job.base + step.open);
      await page.waitForSelector('body[data-ready="true"]');
    }
    const acts = step.code !== undefined || step.file || step.clearFile;
    if (acts) {
      await page.evaluate(() => { document.getElementById('check-result').dataset.outcome = ''; });
      if (step.code !== undefined) await page.fill('#check-code', step.code);
      if (step.clearFile) await page.click('#check-file-clear');
      if (step.file) await page.setInputFiles('#check-file', step.file);
      await page.click('#check-submit');
    }
    await page.waitForSelector('#check-result:not([data-outcome=""])[data-outcome]', { timeout: 30000 });
    const seen = await page.evaluate(() => {
      const box = document.getElementById('check-result');
      const text = (id) => document.getElementById(id).innerText;
      return {
        outcome: box.dataset.outcome,
        anchored: box.dataset.anchored || null,
        removed: box.dataset.removed || null,
        title: text('check-title'),
        words: text('check-zh') + '\n' + text('check-en'),
        facts: text('check-facts'),
        code: document.getElementById('check-code').value,
        section: text('recipient-title'),
        overflow: document.documentElement.scrollWidth > document.documentElement.clientWidth,
      };
    });
    const shot = join(job.screenshots, `${step.name}.png`);
    if (step.fullPage) await page.screenshot({ path: shot, fullPage: true });
    else await page.locator('#recipient').screenshot({ path: shot });
    report.steps.push({ name: step.name, screenshot: shot, ...seen });
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report));

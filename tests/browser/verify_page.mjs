// Drive the verification page in headless Chromium (Debian's, through playwright-core; no
// browser download) and report what a person would see, as JSON on stdout. The pytest side
// (test_verify_page.py) starts the real server and asserts on this report.
//
// stdin: {"chromium": "/usr/bin/chromium", "base": "http://127.0.0.1:PORT",
//         "screenshots": "/tmp/dir",
//         "steps": [{"name": "original", "open": "/verify", "file": "/path"},
//                   {"name": "qr", "open": "/verify?sha256=..."},
//                   {"name": "bundle", "bundle": "/path"}, {"name": "typed", "hash": "..."},
//                   {"name": "phone", "viewport": {"width": 390, "height": 844}, "open": ...}]}
// A step with "open" loads that page first; otherwise it acts on the page as it is.
// "viewport" resizes the window first.
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
    report.requests.push({ method: r.method(), url: r.url(), type: r.headers()['content-type'] || null,
      body: r.method() === 'POST' ? (r.postDataBuffer() || Buffer.alloc(0)).length : 0,
      json: (r.headers()['content-type'] || '').startsWith('application/json') ? r.postData() : null });
  });

  for (const step of job.steps) {
    if (step.viewport) await page.setViewportSize(step.viewport);
    if (step.open) {
      await page.goto(job.base + step.open);
      await page.waitForSelector('body[data-ready="true"]');
    }
    if (!step.open || step.file || step.bundle || step.hash) {
      await page.evaluate(() => { document.getElementById('verdict').dataset.verdict = ''; });
    }
    if (step.file) await page.setInputFiles('#file-input', step.file);
    if (step.bundle) await page.setInputFiles('#bundle-input', step.bundle);
    if (step.hash) {
      await page.fill('#hash-input', step.hash);
      await page.click('#hash-submit');
    }
    await page.waitForSelector('#verdict:not([data-verdict=""])[data-verdict]', { timeout: 30000 });
    const seen = await page.evaluate(() => {
      const v = document.getElementById('verdict');
      const text = (id) => document.getElementById(id).innerText;
      return {
        verdict: v.dataset.verdict,
        result: v.dataset.result,
        classes: v.className,
        title: text('verdict-title'),
        summary: text('verdict-zh') + '\n' + text('verdict-en'),
        subject: text('subject'),
        checks: Array.from(document.querySelectorAll('#checks li')).map((li) => ({
          name: li.dataset.check, status: li.dataset.status, text: li.innerText })),
        anchor: document.getElementById('anchor-block').hidden ? '' : text('anchor'),
        issuer: document.getElementById('issuer-block').hidden ? '' : text('issuer'),
        answers: document.getElementById('answers-block').hidden ? [] : Array.from(
          document.querySelectorAll('#answers li')).map((li) => ({
          question: li.dataset.question, status: li.dataset.status, text: li.innerText })),
        who: document.getElementById('answers-block').hidden ? '' : text('who'),
        // The answers are shown before the detailed checks.
        answersFirst: Boolean(document.getElementById('answers-block').compareDocumentPosition(
          document.getElementById('checks')) & Node.DOCUMENT_POSITION_FOLLOWING),
        links: Array.from(document.querySelectorAll('#anchor a')).map((a) => a.href),
        hashInput: document.getElementById('hash-input').value,
        progressHidden: document.getElementById('progress').hidden,
        // Long hashes must wrap, never push the page sideways (phones).
        overflow: document.documentElement.scrollWidth > document.documentElement.clientWidth,
      };
    });
    const shot = join(job.screenshots, `${step.name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    report.steps.push({ name: step.name, screenshot: shot, ...seen });
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report));

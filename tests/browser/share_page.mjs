// Open a share link's judge page in headless Chromium (Debian's, through playwright-core) and
// report what a judge sees, as JSON on stdout (tests/browser/test_share_page.py asserts).
// stdin: {"chromium": "...", "base": "http://127.0.0.1:PORT", "screenshots": "/tmp/dir",
//         "pages": [{"name": "judge", "open": "/v1/shared/TOKEN"}]}
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const job = JSON.parse(readFileSync(0, 'utf8'));
const browser = await chromium.launch({
  executablePath: job.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const report = { pages: [], console: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') report.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => report.console.push(`pageerror: ${e.message}`));
  page.on('dialog', async (d) => { report.console.push(`dialog: ${d.message()}`); await d.dismiss(); });
  for (const step of job.pages) {
    const answer = await page.goto(job.base + step.open);
    const seen = await page.evaluate(() => ({
      url: location.pathname,
      title: document.title,
      caseId: document.getElementById('case-id')?.textContent ?? null,
      rows: [...document.querySelectorAll('#items tbody tr')].map((tr) =>
        [...tr.querySelectorAll('td')].map((td) => td.innerText)),
      links: [...document.querySelectorAll('a')].map((a) => a.getAttribute('href')),
      bundle: document.getElementById('bundle')?.getAttribute('href') ?? null,
      gone: document.getElementById('gone')?.innerText ?? null,
      operator: document.getElementById('operator')?.innerText ?? null,
      fingerprint: document.getElementById('fingerprint')?.textContent ?? null,
      devNotice: document.querySelector('.dev-notice')?.innerText ?? null,
      firstText: document.body.innerText.trim().split('\n')[0],
      injected: document.querySelectorAll('#items b, #items img, #items script').length,
      stylesheets: document.styleSheets.length,
    }));
    await page.screenshot({ path: join(job.screenshots, `${step.name}.png`), fullPage: true });
    report.pages.push({ name: step.name, status: answer.status(), ...seen });
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report));

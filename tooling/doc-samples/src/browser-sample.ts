import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withChromium } from './chromium';
import { serveFolder } from './static-server';

/**
 * Runs an HTML sample in a browser: `(html, workDir, expected, timeoutMs)`; resolves once the
 * page shows `expected`, rejects with what went wrong.
 */
export type BrowserRun = (
  html: string,
  workDir: string,
  expected: string | undefined,
  timeoutMs: number,
) => Promise<void>;

/**
 * Runs an HTML sample in a Chromium of its own: the sample is written into the work folder, which
 * is served over HTTP, and opened in a new page. It passes once `expected` appears in the page's title or
 * in a console line, without a page error or a console error first. Without `expect=` it passes
 * when the page loaded without errors.
 */
export const runInChromium: BrowserRun = (html, workDir, expected, timeoutMs) =>
  withChromium(async (browser) => {
    const name = `.sample-${randomUUID()}.html`;
    writeFileSync(join(workDir, name), html);
    const server = await serveFolder(workDir);
    const page = await browser.newPage();
    try {
      const problems: string[] = [];
      const lines: string[] = [];
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
        else lines.push(m.text());
      });
      await page.goto(`${server.url}/${name}`, { timeout: timeoutMs });
      const deadline = Date.now() + timeoutMs;
      // Bounded by the deadline: one look every 50 ms.
      for (;;) {
        if (problems.length > 0) throw new Error(problems.join('\n'));
        const title = await page.title();
        if (expected === undefined || title.includes(expected) || lines.some((l) => l.includes(expected)))
          return;
        if (Date.now() > deadline)
          throw new Error(
            `the page never showed ${JSON.stringify(expected)} within ${timeoutMs} ms (title ${JSON.stringify(title)}, console: ${JSON.stringify(lines)})`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await page.close();
      await server.close();
    }
  });

import { CHROMIUM_ARGS, CHROMIUM_PATH } from '@dotmac-ws/test-utils/browser';
import { type Browser, chromium } from 'playwright-core';

/**
 * Runs `body` with a headless Chromium of its own, closed when `body` settles. (Not test-utils'
 * `launchChromium`, whose cleanup runs after each test: documents run concurrently, and one
 * test's cleanup must not close another's browser.)
 */
export async function withChromium<T>(body: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS],
    headless: true,
  });
  try {
    return await body(browser);
  } finally {
    await browser.close();
  }
}

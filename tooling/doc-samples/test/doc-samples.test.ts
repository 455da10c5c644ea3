import { IN_CI, SHARED_REDIS, sharedServiceMissing } from '@dotmac-ws/test-utils';
import { hasChromium } from '@dotmac-ws/test-utils/browser';
import { describe, expect, it } from 'vitest';
import { runInChromium } from '../src/browser-sample';
import { readDocuments } from '../src/doc-files';
import { runDocument } from '../src/run-document';
import { tutorialCheckpoints } from './tutorial-checkpoints';

const documents = readDocuments();
const runnable = documents.filter((d) => d.samples.length > 0);

/** Checkpoints by document. */
const CHECKPOINTS: Record<string, typeof tutorialCheckpoints> = {
  'docs/getting-started.md': tutorialCheckpoints,
};

/** Documents whose samples need a browser or Redis, and why they cannot run here ('' when they can). */
async function missingFor(doc: (typeof runnable)[number]): Promise<string> {
  const needs = (key: string) => doc.samples.some((s) => s.attrs.has(key));
  const missing: string[] = [];
  if (needs('redis')) {
    const why = await sharedServiceMissing(SHARED_REDIS);
    if (why) missing.push(why);
  }
  if ((needs('browser') || doc.file in CHECKPOINTS) && !hasChromium) {
    if (IN_CI) throw new Error('CI=true and no /usr/bin/chromium: .ci/run installs it');
    missing.push('no Chromium');
  }
  return missing.join(', ');
}

describe('runnable documentation samples', () => {
  it('covers the documents that promise runnable samples', () => {
    const files = runnable.map((d) => d.file);
    for (const file of [
      'README.md',
      'docs/getting-started.md',
      'docs/recovery.md',
      'packages/client/README.md',
      'packages/core/README.md',
      'packages/ratelimit/README.md',
      'packages/observability/README.md',
      'examples/basic/README.md',
      'examples/advanced/README.md',
    ])
      expect(files).toContain(file);
  });

  // Documents run side by side: each has its own folder, ports, Redis prefix and browser.
  for (const doc of runnable) {
    it.concurrent(`${doc.file} (${doc.samples.length} samples)`, async (t) => {
      const missing = await missingFor(doc);
      if (missing !== '') t.skip(`skipped: ${missing}`);
      await runDocument(doc.samples, {
        checkpoints: CHECKPOINTS[doc.file]?.(t.expect),
        browser: runInChromium,
      });
    });
  }
});

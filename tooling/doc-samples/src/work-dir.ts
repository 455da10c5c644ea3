import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this package is tooling/doc-samples). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** This package's folder. */
export const PACKAGE_DIR = join(REPO_ROOT, 'tooling/doc-samples');

/** Entries of the checkout a work folder does not link: VCS, build caches and the root's own modules. */
const NOT_LINKED = new Set(['.git', '.turbo', 'node_modules', 'packs', 'coverage']);

/**
 * A fresh folder that stands for the root of a checkout, for one document's samples: every
 * top-level entry of the repository is a symlink to the real one (so `packages/client/dist`,
 * `deploy/nginx.conf` and `examples/` are there, built), `node_modules` is this package's (every
 * `@dotmac-ws` package, `ws`, and the `dotmac-gateway` bin), and what samples write lands in the
 * folder itself. Samples must create new files and folders only: writing through a link would
 * change the checkout.
 */
export function createWorkDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'dotmac-doc-'));
  for (const entry of readdirSync(REPO_ROOT)) {
    if (!NOT_LINKED.has(entry)) symlinkSync(join(REPO_ROOT, entry), join(dir, entry));
  }
  symlinkSync(join(PACKAGE_DIR, 'node_modules'), join(dir, 'node_modules'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

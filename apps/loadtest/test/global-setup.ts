import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The CLI and worker-thread tests run the built dist: build it first unless it is newer than
 * every source file (as after `pnpm build` in CI).
 */
export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const built = ['cli.js', 'shard-worker.js', 'index.js'].map((f) => join(root, 'dist', f));
  const src = join(root, 'src');
  const newestSource = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
  if (built.every((f) => existsSync(f) && statSync(f).mtimeMs >= newestSource)) return;
  execFileSync('pnpm', ['exec', 'tsup', '--silent'], { cwd: root, stdio: 'inherit' });
}

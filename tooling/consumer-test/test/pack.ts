import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** `pnpm pack`s a workspace package (so workspace: and catalog: ranges are replaced) into `dest`. */
export function pack(packageDir: string, dest: string): string {
  execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: join(ROOT, packageDir), stdio: 'pipe' });
  const name = readdirSync(dest).find((f) => f.endsWith('.tgz') && f.includes(packageDir.split('/').pop()!));
  if (!name) throw new Error(`pnpm pack of ${packageDir} produced no tarball in ${dest}`);
  return join(dest, name);
}

/**
 * Packs `@dotmac-ws/core` with the workspace packages it depends on (`@dotmac-ws/protocol`), so
 * that npm installs them all from tarballs and never asks the registry for an unpublished one.
 * Returns the tarballs, to be installed in one command.
 */
export function packCore(dest: string): string[] {
  return [pack('packages/protocol', dest), pack('packages/core', dest)];
}

/** An empty folder with a package.json, as `npm init` would leave it; removed by `dispose`. */
export function emptyProject(): { dir: string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dotmac-consumer-'));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
  );
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `npm install`s tarballs (or names) into `dir`. */
export function npmInstall(dir: string, specs: string[]): void {
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...specs], {
    cwd: dir,
    stdio: 'pipe',
  });
}

/** Names of every package installed under `dir`/node_modules (scoped ones as `@scope/name`). */
export function installedPackages(dir: string): string[] {
  const nm = join(dir, 'node_modules');
  const out: string[] = [];
  for (const entry of readdirSync(nm)) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) for (const sub of readdirSync(join(nm, entry))) out.push(`${entry}/${sub}`);
    else out.push(entry);
  }
  return out;
}

/** Runs `node file` in `dir`; resolves with its exit code and its stdout and stderr together. */
export function runNode(dir: string, file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** The last line a script printed, parsed as JSON. */
export function lastJsonLine(out: string): unknown {
  return JSON.parse(out.trim().split('\n').pop() ?? '');
}

/** Packages that only the optional @dotmac-ws packages may pull in. */
export const HEAVY_PACKAGES = [
  'ioredis',
  'nats',
  '@nats-io/transport-node',
  'jsonwebtoken',
  'prom-client',
  'rate-limiter-flexible',
  'pino',
] as const;

/** Installed packages of `installed` that are heavy (the list above, or any OpenTelemetry one). */
export function heavyIn(installed: readonly string[], allowed: readonly string[] = []): string[] {
  return installed.filter(
    (p) =>
      !allowed.includes(p) &&
      ((HEAVY_PACKAGES as readonly string[]).includes(p) || p.startsWith('@opentelemetry/')),
  );
}

/**
 * Writes `body` twice into `dir` as a user would: `{base}.mjs` loading `imports` with `import`,
 * and `{base}.cjs` with `require` (the body wrapped in an async function). `imports` maps a
 * package to its binding, e.g. `{ ws: 'WebSocket', '@dotmac-ws/core': '{ WebSocketGateway }' }`.
 * Returns the two file names.
 */
export function writeEsmAndCjs(
  dir: string,
  base: string,
  imports: Record<string, string>,
  body: string,
): string[] {
  const entries = Object.entries(imports);
  const esm = entries.map(([pkg, binding]) => `import ${binding} from '${pkg}';`).join('\n');
  const cjs = entries.map(([pkg, binding]) => `const ${binding} = require('${pkg}');`).join('\n');
  writeFileSync(join(dir, `${base}.mjs`), `${esm}\n${body}`);
  writeFileSync(
    join(dir, `${base}.cjs`),
    `${cjs}\n(async () => {${body}})().catch((e) => { console.error(e); process.exit(1); });`,
  );
  return [`${base}.mjs`, `${base}.cjs`];
}

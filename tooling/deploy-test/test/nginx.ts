import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isReachable, onCleanup, startProcess, type TestProcess, waitUntil } from '@dotmac-ws/test-utils';
import { repoFile } from './deploy-files';

/** The nginx binary: on the PATH, or Debian's /usr/sbin/nginx when /usr/sbin is not on it; null when absent. */
export const NGINX: string | null =
  ['nginx', '/usr/sbin/nginx'].find((bin) => spawnSync(bin, ['-v']).status === 0) ?? null;

/** Where to run the shipped config: a folder for its files and loopback addresses. */
export interface NginxTarget {
  /** Folder for the pid file and temp paths (in place of /tmp). */
  dir: string;
  /** Loopback port nginx listens on (in place of 8080). */
  port: number;
  /** Gateway ports, by compose service name (`gateway-1` -> port). */
  upstreams: Record<string, number>;
}

/** Replaces every match of `pattern` in `text`; throws unless it matched `expected` times. */
function rewrite(
  text: string,
  pattern: RegExp,
  replace: (m: string, ...groups: string[]) => string,
  expected: number | 'some',
): string {
  const found = text.match(pattern)?.length ?? 0;
  if (expected === 'some' ? found === 0 : found !== expected)
    throw new Error(
      `deploy/nginx.conf changed shape: ${pattern} matched ${found} times, expected ${expected}`,
    );
  return text.replace(pattern, replace as (m: string) => string);
}

/**
 * deploy/nginx.conf with only its addresses and paths moved: the listen port to 127.0.0.1,
 * the upstream servers to the gateways' loopback ports, the /tmp paths and the access log to `dir`. Throws when a
 * rewrite does not find what it expects, so a change to the shipped file cannot go untested.
 */
export function renderNginxConfig(source: string, target: NginxTarget): string {
  let conf = rewrite(
    source,
    /^(\s*)listen 8080;/gm,
    (_, indent) => `${indent}listen 127.0.0.1:${target.port};`,
    1,
  );
  conf = rewrite(
    conf,
    /\bserver ([a-z0-9-]+):8765\b/g,
    (_, host) => {
      const port = target.upstreams[host];
      if (port === undefined)
        throw new Error(`deploy/nginx.conf names an upstream ${host} the test does not run`);
      return `server 127.0.0.1:${port}`;
    },
    Object.keys(target.upstreams).length,
  );
  conf = rewrite(conf, /(?<=[\s;])\/tmp\//g, () => `${target.dir}/`, 'some');
  // /dev/stdout cannot be opened when stdout is a socket (as a test's pipe is): a file instead.
  conf = rewrite(conf, /(?<=access_log )\/dev\/stdout\b/g, () => `${target.dir}/access.log`, 1);
  return conf;
}

/** nginx on the shipped config (see {@link renderNginxConfig}), in the foreground; stopped after the test. */
export async function startNginx(
  upstreams: Record<string, number>,
  port: number,
): Promise<{ proc: TestProcess; conf: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'dotmac-nginx-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'logs'));
  const conf = renderNginxConfig(repoFile('deploy/nginx.conf'), { dir, port, upstreams });
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  // One process (no master/worker split, no daemon): the test owns it and its exit ends it all.
  // -e stderr: the log of what happens before the config is read (error_log there is stderr too).
  if (NGINX === null) throw new Error('nginx is not installed');
  const proc = startProcess(NGINX, [
    '-p',
    dir,
    '-c',
    file,
    '-e',
    'stderr',
    '-g',
    'daemon off; master_process off;',
  ]);
  await waitUntil(async () => {
    if (proc.child.exitCode !== null)
      throw new Error(`nginx exited (${proc.child.exitCode}):\n${proc.output()}`);
    return isReachable('127.0.0.1', port, 200);
  }, 10_000);
  return { proc, conf };
}

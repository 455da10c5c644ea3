import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, onCleanup } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { envSchema, PLUGINS } from '../src/index';

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dotmac-cli-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('dotmac-gateway command line', () => {
  it('--help names every environment variable with its default', () => {
    const r = cli(['--help'], tempDir());
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: dotmac-gateway/);
    for (const v of envSchema(PLUGINS)) {
      expect(r.out).toMatch(
        new RegExp(
          `^  ${v.name} +${(v.default ?? '(unset)').replace(/[().*+?[\]\\|^$]/g, '\\$&')}  \\[`,
          'm',
        ),
      );
    }
  });

  it('an unknown command exits 2 with the usage on stderr', () => {
    const r = cli(['serve'], tempDir());
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^dotmac-gateway: unknown command "serve"\n\nUsage:/);
  });

  it('init writes a private .env with fresh secrets and every variable, and will not overwrite it', () => {
    const dir = tempDir();
    const r = cli(['init', 'production'], dir);
    expect(r.code).toBe(0);
    expect(r.out).toBe('wrote .env (production profile). Start with: dotmac-gateway --config .env\n');
    const text = readFileSync(join(dir, '.env'), 'utf8');
    expect(text).toMatch(/^GATEWAY_PROFILE=production$/m);
    const key = /^API_KEY=([A-Za-z0-9_-]{32})$/m.exec(text)?.[1];
    const jwt = /^JWT_SECRET_KEY=([A-Za-z0-9_-]{43})$/m.exec(text)?.[1];
    expect(key).toBeDefined();
    expect(jwt).toBeDefined();
    for (const v of envSchema(PLUGINS)) {
      if (v.name === 'API_KEY' || v.name === 'JWT_SECRET_KEY' || v.name === 'GATEWAY_PROFILE') continue;
      expect(text).toContain(`\n# ${v.name}=${v.default ?? ''}\n`);
    }
    expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o600);
    // A second run draws other secrets, and refuses to replace the file without --force.
    const again = cli(['init'], dir);
    expect(again.code).toBe(1);
    expect(again.err).toBe('dotmac-gateway init: .env exists; pass --force to overwrite it\n');
    expect(cli(['init', '--force', '--out', 'second.env'], dir).code).toBe(0);
    expect(readFileSync(join(dir, 'second.env'), 'utf8')).not.toContain(key as string);
  });

  it('--config starts the gateway with the file’s settings; the environment wins over the file', async () => {
    const dir = tempDir();
    const port = await freePort();
    writeFileSync(
      join(dir, 'gw.env'),
      `# a comment\nWS_HOST=127.0.0.1\nWS_PORT=1\nAPI_KEY="from-file"\nLOG_LEVEL=warn\n`,
    );
    const child = spawn(process.execPath, [BIN, '--config', 'gw.env'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', WS_PORT: String(port) },
      stdio: 'ignore',
    });
    onCleanup(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let status = 0;
    for (let i = 0; i < 200 && status !== 200; i++) {
      status = await fetch(`http://127.0.0.1:${port}/api/stats`, {
        headers: { authorization: 'Bearer from-file' },
      }).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('--config with a missing file exits 2 and says how to make one', () => {
    const r = cli(['--config', 'nope.env'], tempDir());
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'dotmac-gateway: the config file "nope.env" does not exist (dotmac-gateway init writes one)\n',
    );
  });
});

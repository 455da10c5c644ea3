import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, onCleanup, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { SECRET, sign } from '../../../packages/auth-jwt/test/helpers';
import { API_CALLS } from '../src/api-command';
import { BIN } from './bin-process';
import { startApp } from './helpers';

const KEY = 'cli-admin-key-0123456789';

/** Runs the built bin without blocking this process (the gateway under test runs in it). */
function cli(args: string[], env: Record<string, string> = {}, cwd = tmpdir()) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** A reference gateway with an admin key and JWT auth (tokens optional), and a user u1 in news. */
async function gatewayWithUser() {
  const app = await startApp({ API_KEY: KEY, JWT_SECRET_KEY: SECRET, NODE_ID: 'cli-node' });
  const c = await TestClient.open(app.url, { headers: { Authorization: `Bearer ${sign({ sub: 'u1' })}` } });
  await c.welcome();
  await c.request({ type: 'subscribe', data: { channel: 'news' } });
  return { ...app, c };
}

describe('dotmac-gateway api', () => {
  it('--help lists every call with its method and path; the main --help names the command', async () => {
    const r = await cli(['api', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: dotmac-gateway api <call> \[json\]/);
    for (const [name, c] of Object.entries(API_CALLS)) {
      expect(r.out).toMatch(new RegExp(`^  ${name} +${c.method} +${c.path} `, 'm'));
    }
    expect((await cli(['--help'])).out).toContain('\n  api <call> [json] [--url URL]\n');
  });

  it('calls info, publish and disconnect on a real gateway, printing the JSON answer', async () => {
    const { base, c } = await gatewayWithUser();
    const env = { API_KEY: KEY };
    const info = await cli(['api', 'info', '--url', base], env);
    expect([info.code, info.err]).toEqual([0, '']);
    const nodes = (JSON.parse(info.out) as { nodes: { node_id: string; sessions: number }[] }).nodes;
    expect(nodes.map((n) => [n.node_id, n.sessions])).toEqual([['cli-node', 1]]);
    expect(info.out).toMatch(/^\{\n {2}"nodes": \[\n/);

    const pub = await cli(['api', 'publish', '{"channel":"news","type":"m","data":1}', `--url=${base}`], env);
    expect([pub.code, JSON.parse(pub.out), pub.err]).toEqual([0, { delivered_local: 1 }, '']);
    expect(await c.waitFor((f) => f.type === 'm')).toEqual({ type: 'm', channel: 'news', data: 1 });

    const dis = await cli(['api', 'disconnect', '{"user_id":"u1"}', '--url', base], env);
    expect([dis.code, JSON.parse(dis.out)]).toEqual([0, {}]);
    expect(await c.waitClose()).toEqual({ code: 4403, reason: 'forbidden' });
  });

  it('exits 1 on an answer that is not 2xx, printing it', async () => {
    const { base } = await startApp({ API_KEY: KEY, API_KEYS: 'app:publish-key-0123456789:publish' });
    const bad = await cli(['api', 'disconnect', '{}', '--url', base], { API_KEY: KEY });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toEqual({
      error: { code: 'bad_request', message: 'name "user_id", "session_id" or "tenant_id"' },
    });
    expect(bad.err).toBe('dotmac-gateway api: POST /api/disconnect answered 400\n');
    const wrong = await cli(['api', 'stats', '--url', base], { API_KEY: 'not-the-key' });
    expect([wrong.code, (JSON.parse(wrong.out) as { error: { code: string } }).error.code]).toEqual([
      1,
      'unauthorized',
    ]);
    // Without API_KEY, the first admin key of API_KEYS; a publish key alone may only publish.
    const scoped = await cli(['api', 'info', '--url', base], {
      API_KEYS: 'app:publish-key-0123456789:publish',
    });
    expect([scoped.code, (JSON.parse(scoped.out) as { error: { code: string } }).error.code]).toEqual([
      1,
      'forbidden',
    ]);
  });

  it('finds the gateway and the key in --config (WS_HOST, WS_PORT, API_KEY)', async () => {
    const { port } = await startApp({ API_KEY: KEY, NODE_ID: 'from-config' });
    const dir = mkdtempSync(join(tmpdir(), 'dotmac-api-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'gw.env'), `WS_HOST=0.0.0.0\nWS_PORT=${port}\nAPI_KEY=${KEY}\n`);
    const r = await cli(['api', 'info', '--config', 'gw.env'], {}, dir);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { nodes: { node_id: string }[] }).nodes[0]?.node_id).toBe('from-config');
  });

  it('exits 1 when the gateway cannot be reached, 2 on a usage error', async () => {
    const port = await freePort();
    const down = await cli(['api', 'info', '--url', `http://127.0.0.1:${port}`], { API_KEY: KEY });
    expect([down.code, down.out, down.err]).toEqual([
      1,
      '',
      `dotmac-gateway api: could not reach http://127.0.0.1:${port}/api/info: ECONNREFUSED\n`,
    ]);
    const usage = async (args: string[], env: Record<string, string> = { API_KEY: KEY }) => {
      const r = await cli(['api', ...args], env);
      expect(r.code, r.err).toBe(2);
      expect(r.out).toBe('');
      return r.err.replace(/ \(see dotmac-gateway api --help\)\n$/, '');
    };
    expect(await usage([])).toBe('dotmac-gateway api: name a call');
    expect(await usage(['kick'])).toMatch(
      /^dotmac-gateway api: unknown call "kick"; calls: publish, broadcast,/,
    );
    expect(await usage(['publish', '{nope'])).toBe(
      'dotmac-gateway api: the json of publish is not valid JSON: {nope',
    );
    expect(await usage(['info', '{}'])).toBe('dotmac-gateway api: info takes no json');
    expect(await usage(['info', '--url'])).toBe('dotmac-gateway api: --url needs a value');
    expect(await usage(['info'], {})).toBe(
      'dotmac-gateway api: set API_KEY (or API_KEYS), in the environment or with --config',
    );
    expect(await usage(['info', '--config', 'nope.env'])).toBe(
      'dotmac-gateway api: the config file "nope.env" does not exist (dotmac-gateway init writes one)',
    );
  });
});

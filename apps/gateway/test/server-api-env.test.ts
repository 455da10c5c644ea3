import { createHash } from 'node:crypto';
import { freePort, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { ADMIN_CSP } from '../src/admin-page';
import { runBin } from './bin-process';
import { problemsOf, startApp } from './helpers';

const OPS = 'ops-key-0123456789abcdef';
const APP = 'app-key-0123456789abcdef';

async function call(base: string, path: string, key: string, body?: unknown) {
  const r = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('API_KEYS', () => {
  it('gives keys with ids and scopes: a publish key may only publish, an admin key calls everything', async () => {
    const { base, gateway } = await startApp({ API_KEYS: ` ops:${OPS}:admin, app:${APP}:publish ,` });
    expect(gateway.config.apiKeys.map((k) => [k.id, k.scope])).toEqual([
      ['ops', 'admin'],
      ['app', 'publish'],
    ]);
    expect(await call(base, '/api/publish', APP, { channel: 'news', type: 'm', data: 1 })).toEqual({
      status: 200,
      body: { delivered_local: 0 },
    });
    expect(await call(base, '/api/info', APP)).toEqual({
      status: 403,
      body: {
        error: {
          code: 'forbidden',
          message: 'the API key "app" may only publish (/api/publish, /api/broadcast)',
        },
      },
    });
    const info = await call(base, '/api/info', OPS);
    expect(info.status).toBe(200);
    expect((info.body.nodes as { node_id: string }[]).map((n) => n.node_id)).toEqual([gateway.nodeId]);
  });

  it('an entry without a scope is an admin key, beside API_KEY (id default)', async () => {
    const { base, gateway } = await startApp({ API_KEY: 'the-default-key', API_KEYS: `ops:${OPS}` });
    expect(gateway.config.apiKeys.map((k) => [k.id, k.scope])).toEqual([
      ['default', 'admin'],
      ['ops', 'admin'],
    ]);
    expect((await call(base, '/api/info', OPS)).status).toBe(200);
    expect((await call(base, '/api/info', 'the-default-key')).status).toBe(200);
    expect((await call(base, '/api/info', APP)).status).toBe(401);
  });

  it('names every bad entry by position and field, never quoting a key', () => {
    const problems = problemsOf({
      API_KEY: 'the-default-key',
      API_KEYS: `ops:${OPS}:root,just-a-key-0123456789,app:short,bad id:${APP},default:${APP},a:b:c:d`,
    });
    expect(problems).toEqual([
      "API_KEYS entry 2 must be id:key or id:key:scope (scope admin or publish; no ':' or ',' in a key)",
      "API_KEYS entry 6 must be id:key or id:key:scope (scope admin or publish; no ':' or ',' in a key)",
    ]);
    // Once the entries have the right form, core checks each one; entries count from 1.
    expect(
      problemsOf({
        API_KEY: 'the-default-key',
        API_KEYS: `ops:${OPS}:root,app:short,bad id:${APP},default:${APP}`,
      }),
    ).toEqual([
      "the scope of API_KEYS entry 1 must be 'admin' or 'publish'",
      'the key of API_KEYS entry 2 must be a string of at least 16 characters',
      'the id of API_KEYS entry 3 must be 1-64 characters of A-Z a-z 0-9 _ - .',
      'the id of API_KEYS entry 4 "default" is used twice',
    ]);
    for (const p of problems) for (const secret of [OPS, APP, 'short']) expect(p).not.toContain(secret);
  });

  it('the process logs the key id of a call, never a key; its first line says /admin is on', async () => {
    const port = await freePort();
    const bin = runBin({
      WS_PORT: String(port),
      LOG_LEVEL: 'debug',
      API_KEYS: `ops:${OPS},app:${APP}:publish`,
      ADMIN_ENABLED: 'true',
    });
    await waitUntil(() => bin.output().includes('"ready"') || bin.output().includes('"msg":"ready"'), 10_000);
    const base = `http://127.0.0.1:${port}`;
    expect((await call(base, '/api/disconnect', OPS, { user_id: 'u1' })).status).toBe(200);
    expect((await call(base, '/api/publish', APP, { channel: 'c', type: 'm' })).status).toBe(200);
    await waitUntil(() => bin.output().includes('"key_id":"app"'), 5000);
    const lines = bin
      .output()
      .split('\n')
      .filter((l) => l.includes('server API call'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.level, l.path, l.key_id])).toEqual([
      ['info', '/api/disconnect', 'ops'],
      ['debug', '/api/publish', 'app'],
    ]);
    // The first line says the console is on.
    expect((JSON.parse(bin.output().split('\n')[0]!) as { msg: string }).msg).toContain(
      ', /demo on, /admin on, ',
    );
    expect(bin.output()).not.toContain(OPS);
    expect(bin.output()).not.toContain(APP);
  });
});

describe('ANNOUNCE_INTERVAL_MS and CLUSTER_QUERY_TIMEOUT_MS', () => {
  it('reach the gateway, and out-of-range values are named in env terms', async () => {
    const { gateway } = await startApp({ ANNOUNCE_INTERVAL_MS: '250', CLUSTER_QUERY_TIMEOUT_MS: '40' });
    expect([gateway.config.announceIntervalMs, gateway.config.clusterQueryTimeoutMs]).toEqual([250, 40]);
    const defaults = await startApp();
    expect([
      defaults.gateway.config.announceIntervalMs,
      defaults.gateway.config.clusterQueryTimeoutMs,
    ]).toEqual([5000, 1000]);
    expect(problemsOf({ ANNOUNCE_INTERVAL_MS: '10', CLUSTER_QUERY_TIMEOUT_MS: '60001' })).toEqual([
      "ANNOUNCE_INTERVAL_MS is set as '10' when it must be an integer from 50 to 600000",
      "CLUSTER_QUERY_TIMEOUT_MS is set as '60001' when it must be an integer from 10 to 60000",
    ]);
  });
});

describe('ADMIN_ENABLED', () => {
  const REFUSAL =
    'ADMIN_ENABLED is true but no admin key is set: set API_KEY, or an API_KEYS entry of scope admin (the console signs in with it)';

  it('is refused without an admin key (none, or only a publish key)', () => {
    expect(problemsOf({ ADMIN_ENABLED: 'true' })).toEqual([REFUSAL]);
    expect(problemsOf({ ADMIN_ENABLED: 'true', API_KEYS: `app:${APP}:publish` })).toEqual([REFUSAL]);
  });

  it('serves /admin with a strict CSP when on with an admin key; /admin is 404 otherwise', async () => {
    const on = await startApp({ ADMIN_ENABLED: 'true', API_KEYS: `ops:${OPS}`, DEMO_ENABLED: 'false' });
    const page = await fetch(`${on.base}/admin`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(ADMIN_CSP);
    expect(ADMIN_CSP).toMatch(/^default-src 'none'; connect-src 'self'; img-src data:; style-src 'sha256-/);
    const html = await page.text();
    expect(html).toContain('<title>dotmac-ws admin</title>');
    // The CSP allows exactly the page's one inline style and one inline script, by hash.
    const hash = (tag: string) => {
      const inline = [...html.matchAll(new RegExp(`<${tag}>([^]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
      expect(inline).toHaveLength(1);
      return `'sha256-${createHash('sha256').update(inline[0]!).digest('base64')}'`;
    };
    expect(ADMIN_CSP).toContain(`style-src ${hash('style')};`);
    expect(ADMIN_CSP).toContain(`script-src ${hash('script')};`);
    expect((await fetch(`${on.base}/admin/`)).status).toBe(200);
    expect((await fetch(`${on.base}/demo`)).status).toBe(404);
    expect((await fetch(`${on.base}/admin`, { method: 'POST' })).status).toBe(404);
    // Off by default, whatever keys there are; the demo keeps working.
    const off = await startApp({ API_KEY: 'k' });
    expect((await fetch(`${off.base}/admin`)).status).toBe(404);
    expect((await fetch(`${off.base}/demo`)).status).toBe(200);
  });
});

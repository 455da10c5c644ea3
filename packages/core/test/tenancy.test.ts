import { sleep, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { matchGatewayPath } from '../src/index';
import { startTestGateway } from './helpers';

const wsOf = (base: string) => base.replace('http', 'ws');

async function tenantOf(c: TestClient) {
  return ((await c.welcome()).data as { tenant_id: string | null }).tenant_id;
}

describe('tenant resolution', () => {
  it('takes the path first, then X-Tenant-ID, then ?tenant=, then the Host subdomain', async () => {
    const { base, url } = await startTestGateway({ tenantSubdomainBase: 'example.com' });
    const headers = { 'X-Tenant-ID': 'from-header', Host: 'from-sub.example.com' };
    expect(
      await tenantOf(await TestClient.open(`${wsOf(base)}/ws/tenant/from-path?tenant=q`, { headers })),
    ).toBe('from-path');
    expect(await tenantOf(await TestClient.open(`${url}?tenant=from-query`, { headers }))).toBe(
      'from-header',
    );
    expect(
      await tenantOf(
        await TestClient.open(`${url}?tenant=from-query`, { headers: { Host: 'x.example.com' } }),
      ),
    ).toBe('from-query');
    expect(await tenantOf(await TestClient.open(url, { headers: { Host: 'acme.example.com:8765' } }))).toBe(
      'acme',
    );
    expect(await tenantOf(await TestClient.open(url, { headers: { Host: 'example.com' } }))).toBeNull();
    expect(await tenantOf(await TestClient.open(url))).toBeNull();
  });

  it.each([
    ['/ws/tenant/a:b', {}],
    ['/ws/tenant/%E0%A4%A', {}],
    ['/ws', { 'X-Tenant-ID': 'bad tenant' }],
    ['/ws?tenant=a*b', {}],
  ])('an invalid tenant id (%s) is refused with 400', async (path, headers) => {
    const { base } = await startTestGateway();
    const r = await TestClient.refused(`${wsOf(base)}${path}`, { headers });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.code).toBe('invalid_tenant');
  });

  it('a tenant named like an Object.prototype key is kept apart and counted like any other', async () => {
    const { base, gw } = await startTestGateway();
    const proto = await TestClient.open(`${wsOf(base)}/ws/tenant/__proto__`);
    const ctor = await TestClient.open(`${wsOf(base)}/ws/tenant/constructor`);
    expect(await tenantOf(proto)).toBe('__proto__');
    expect(await tenantOf(ctor)).toBe('constructor');
    const byTenant = gw.getStats().sessions.by_tenant;
    expect(Object.getPrototypeOf(byTenant)).toBe(Object.prototype);
    expect(Object.entries(byTenant).sort()).toEqual([
      ['__proto__', 1],
      ['constructor', 1],
    ]);
    expect(JSON.parse(JSON.stringify(gw.getStats())).sessions.by_tenant).toEqual(
      JSON.parse('{"__proto__":1,"constructor":1}'),
    );
  });

  it('matches only the gateway path and its tenant form', () => {
    expect(matchGatewayPath('/ws', '/ws')).toEqual({ tenantId: null });
    expect(matchGatewayPath('/ws/', '/ws')).toEqual({ tenantId: null });
    expect(matchGatewayPath('/ws/tenant/acme', '/ws')).toEqual({ tenantId: 'acme' });
    expect(matchGatewayPath('/ws/tenant/acme/', '/ws')).toEqual({ tenantId: 'acme' });
    for (const p of ['/', '/wsx', '/ws/tenant', '/ws/tenant/', '/ws/tenant/a/b', '/ws/other']) {
      expect(matchGatewayPath(p, '/ws'), p).toBeNull();
    }
  });
});

describe('tenant isolation', () => {
  it('the same channel name in two tenants never crosses; clients see only the unprefixed name', async () => {
    const { base, gw } = await startTestGateway({ clientPublish: true });
    const acme = await TestClient.open(`${wsOf(base)}/ws/tenant/acme`);
    const globex = await TestClient.open(`${wsOf(base)}/ws/tenant/globex`);
    const none = await TestClient.open(`${wsOf(base)}/ws`);
    for (const c of [acme, globex, none]) await c.request({ type: 'subscribe', data: { channel: 'news' } });
    await acme.request({ type: 'publish', channel: 'news', data: 'for acme' });
    expect(await acme.waitFor((f) => f.type === 'message')).toEqual({
      type: 'message',
      channel: 'news',
      data: 'for acme',
    });
    await gw.broadcastToChannel('news', 'message', 'for globex', { tenantId: 'globex' });
    expect(await globex.waitFor((f) => f.type === 'message')).toEqual({
      type: 'message',
      channel: 'news',
      data: 'for globex',
    });
    await gw.broadcastToChannel('news', 'message', 'global');
    expect(await none.waitFor((f) => f.type === 'message')).toEqual({
      type: 'message',
      channel: 'news',
      data: 'global',
    });
    await sleep(100);
    expect(acme.frames.filter((f) => f.type === 'message').map((f) => f.data)).toEqual(['for acme']);
    expect(globex.frames.filter((f) => f.type === 'message').map((f) => f.data)).toEqual(['for globex']);
    expect(none.frames.filter((f) => f.type === 'message').map((f) => f.data)).toEqual(['global']);
  });

  it('a tenantless session cannot name the internal tenant namespace', async () => {
    const { base, gw } = await startTestGateway({ clientPublish: true });
    const acme = await TestClient.open(`${wsOf(base)}/ws/tenant/acme`);
    await acme.request({ type: 'subscribe', data: { channel: 'news' } });
    const intruder = await TestClient.open(`${wsOf(base)}/ws`);
    for (const frame of [
      { type: 'subscribe', data: { channel: 'tenant:acme:news' } },
      { type: 'publish', channel: 'tenant:acme:news', data: 'x' },
    ]) {
      expect((await intruder.request(frame)).data).toEqual({
        code: 'invalid_channel',
        message: 'channel names starting with "tenant:" are reserved',
      });
    }
    // A tenant's own "tenant:…" channel stays inside its namespace.
    await acme.request({ type: 'subscribe', data: { channel: 'tenant:globex:x' } });
    expect(gw.getStats().channels).toBe(2);
    await sleep(50);
    expect(acme.frames.filter((f) => f.type === 'message')).toEqual([]);
  });

  it('with isolation off, tenants share channel names', async () => {
    const { base } = await startTestGateway({ clientPublish: true, tenantIsolation: false });
    const acme = await TestClient.open(`${wsOf(base)}/ws/tenant/acme`);
    const globex = await TestClient.open(`${wsOf(base)}/ws/tenant/globex`);
    for (const c of [acme, globex]) await c.request({ type: 'subscribe', data: { channel: 'shared' } });
    await acme.request({ type: 'publish', channel: 'shared', data: 1 });
    expect((await globex.waitFor((f) => f.type === 'message')).data).toBe(1);
  });

  it('tenant broadcasts reach only that tenant', async () => {
    const { base, gw } = await startTestGateway();
    const acme = await TestClient.open(`${wsOf(base)}/ws/tenant/acme`);
    const globex = await TestClient.open(`${wsOf(base)}/ws/tenant/globex`);
    await Promise.all([acme.welcome(), globex.welcome()]);
    expect(await gw.broadcastToTenant('acme', 'notice', { n: 1 })).toBe(1);
    expect(await acme.waitFor((f) => f.type === 'notice')).toEqual({ type: 'notice', data: { n: 1 } });
    expect(await gw.broadcastToAll('everyone', null, { tenantId: 'globex' })).toBe(1);
    await globex.waitFor((f) => f.type === 'everyone');
    await sleep(50);
    expect(globex.frames.some((f) => f.type === 'notice')).toBe(false);
    expect(acme.frames.some((f) => f.type === 'everyone')).toBe(false);
  });
});

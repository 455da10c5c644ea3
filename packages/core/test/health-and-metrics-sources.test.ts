import { describe, expect, it } from 'vitest';
import { startTestGateway } from './helpers';

describe('health components and metrics sources added by packages', () => {
  it('an added component shows in /health; not healthy, it degrades the gateway; a throw reads as unhealthy', async () => {
    const { gw, base } = await startTestGateway({ apiKey: 'k' });
    let breakerOpen = false;
    const remove = gw.addHealthComponent('app_proxy', () => ({
      status: breakerOpen ? 'degraded' : 'healthy',
      open: breakerOpen,
    }));
    const health = async () => {
      const r = await fetch(`${base}/health`, { headers: { authorization: 'Bearer k' } });
      return {
        status: r.status,
        body: (await r.json()) as { status: string; components: Record<string, unknown> },
      };
    };
    expect((await health()).body.components.app_proxy).toEqual({ status: 'healthy', open: false });
    breakerOpen = true;
    const degraded = await health();
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    gw.addHealthComponent('broken', () => {
      throw new Error('cannot tell');
    });
    const broken = await health();
    expect(broken.body.components.broken).toEqual({ status: 'unhealthy', error: 'cannot tell' });
    expect(broken.body.status).toBe('degraded');
    remove();
    expect((await health()).body.components.app_proxy).toBeUndefined();
    expect(() => gw.addHealthComponent('server', () => ({ status: 'healthy' }))).toThrow(TypeError);
    // The stores report under these names themselves.
    expect(() => gw.addHealthComponent('history', () => ({ status: 'healthy' }))).toThrow(TypeError);
    expect(() => gw.addHealthComponent('presence', () => ({ status: 'healthy' }))).toThrow(TypeError);
    expect(() => gw.addHealthComponent('Bad Name', () => ({ status: 'healthy' }))).toThrow(TypeError);
  });

  it('an added metrics source is appended to /metrics; one that throws is skipped', async () => {
    const { gw, base } = await startTestGateway();
    const remove = gw.addMetricsSource(
      () => '# TYPE app_proxy_requests_total counter\napp_proxy_requests_total 7\n',
    );
    gw.addMetricsSource(() => {
      throw new Error('broken source');
    });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('dotmac_ws_connections ');
    expect(text.endsWith('app_proxy_requests_total 7\n')).toBe(true);
    remove();
    expect(await (await fetch(`${base}/metrics`)).text()).not.toContain('app_proxy_requests_total');
  });
});

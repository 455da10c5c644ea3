import { sleep, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { jwtAuthenticator } from '../src/index';
import { nowSec, SECRET, sign, startGateway } from './helpers';

// Real tokens live whole seconds: `exp` 3 s ahead expires 2-3 s from now.
const options = {
  authenticator: jwtAuthenticator({ secret: SECRET }),
  requireToken: true,
  authExpiringLeadMs: 1500,
};

describe('token expiry on a live connection', () => {
  it('a handshake token gets auth_expiring ahead of exp, then the connection is closed with 4401 at exp', async () => {
    const { url } = await startGateway(options);
    const exp = nowSec() + 3;
    const c = await TestClient.open(url, {
      headers: { Authorization: `Bearer ${sign({ sub: 'alice', exp })}` },
    });
    expect((await c.welcome()).data).toMatchObject({ authenticated: true, user_id: 'alice' });
    const warning = await c.waitFor((f) => f.type === 'auth_expiring', 4000, 'auth_expiring');
    const warnedAt = Date.now();
    expect(warning).toEqual({ type: 'auth_expiring', data: { expires_at: exp } });
    expect(warnedAt).toBeLessThan(exp * 1000);
    const closed = await c.waitClose(4000);
    expect(closed).toEqual({ code: 4401, reason: 'unauthorized' });
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
  });

  it('a fresh auth frame before expiry extends the session; the old expiry passes without a close', async () => {
    const { url } = await startGateway(options);
    const exp1 = nowSec() + 3;
    const c = await TestClient.open(url);
    await c.welcome();
    expect(
      await c.request({ type: 'auth', data: { token: sign({ sub: 'alice', exp: exp1 }) } }),
    ).toMatchObject({
      type: 'ack',
      data: { user_id: 'alice', expires_at: exp1 },
    });
    await c.waitFor((f) => f.type === 'auth_expiring', 4000, 'auth_expiring');
    const exp2 = nowSec() + 120;
    expect(
      await c.request({ type: 'auth', data: { token: sign({ sub: 'alice', exp: exp2 }) } }),
    ).toMatchObject({
      type: 'ack',
      data: { user_id: 'alice', expires_at: exp2 },
    });
    await sleep(Math.max(0, exp1 * 1000 - Date.now()) + 800);
    expect(c.closed).toBeNull();
    expect(await c.request({ type: 'ping', data: 1 })).toMatchObject({ type: 'pong', data: 1 });
    // A token of another user cannot extend this session.
    expect(
      await c.request({ type: 'auth', data: { token: sign({ sub: 'mallory', exp: exp2 }) } }),
    ).toMatchObject({
      type: 'error',
      data: { code: 'forbidden' },
    });
  });

  it('a token already expired within the clock tolerance lives until exp plus the tolerance', async () => {
    const { url } = await startGateway({
      ...options,
      authenticator: jwtAuthenticator({ secret: SECRET, clockToleranceSec: 3 }),
    });
    const exp = nowSec() - 1;
    const c = await TestClient.open(url, {
      headers: { Authorization: `Bearer ${sign({ sub: 'alice', exp })}` },
    });
    expect((await c.welcome()).data).toMatchObject({ authenticated: true });
    expect(await c.waitFor((f) => f.type === 'auth_expiring', 3000)).toEqual({
      type: 'auth_expiring',
      data: { expires_at: exp + 3 },
    });
    expect((await c.waitClose(4000)).code).toBe(4401);
  });
});

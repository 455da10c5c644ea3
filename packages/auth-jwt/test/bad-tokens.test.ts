import { request } from 'node:http';
import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { jwtAuthenticator } from '../src/index';
import {
  type BadToken,
  badPemTokens,
  badSecretTokens,
  goodClaims,
  pemOptions,
  RSA,
  SECRETS,
  secretOptions,
} from './bad-tokens';
import { authFailures, SECRET, sign, startGateway } from './helpers';

const REFUSAL = { error: { code: 'auth_failed', message: 'the token was refused' } };

async function expectRefusedEverywhere(url: string, bad: BadToken): Promise<void> {
  // At the handshake: HTTP 401 before the upgrade, with the generic body.
  const refused = await TestClient.refused(url, { headers: { Authorization: `Bearer ${bad.token}` } });
  expect(refused.status).toBe(401);
  expect(JSON.parse(refused.body)).toEqual(REFUSAL);
  // In-band: `auth_failed`, and the session stays unauthenticated.
  const c = await TestClient.open(url);
  await c.welcome();
  const reply = await c.request({ type: 'auth', data: { token: bad.token } });
  expect(reply).toMatchObject({
    type: 'error',
    data: { code: 'auth_failed', message: 'the token was refused' },
  });
  const after = await c.request({ type: 'subscribe', channel: 'news' });
  expect(after).toMatchObject({ type: 'error', data: { code: 'unauthenticated' } });
  c.close();
}

function checkLog(logger: Parameters<typeof authFailures>[0], bads: readonly BadToken[]): void {
  const failures = authFailures(logger);
  // Two refusals per token (handshake, then in-band), each logged with its precise reason.
  expect(failures).toHaveLength(bads.length * 2);
  bads.forEach((bad, i) => {
    for (const f of [failures[2 * i]!, failures[2 * i + 1]!]) {
      expect(f.reason, bad.name).toBe(bad.code);
      if (typeof bad.detail === 'string') expect(f.detail, bad.name).toBe(bad.detail);
      else expect(f.detail, bad.name).toMatch(bad.detail);
    }
  });
  const text = logger.text();
  for (const bad of bads) {
    expect(text).not.toContain(bad.token);
    const signature = bad.token.split('.')[2];
    if (signature && signature.length > 8) expect(text).not.toContain(signature);
  }
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe.each([
  ['secret, HS256', secretOptions, badSecretTokens, () => sign(goodClaims())],
  [
    'PEM public key, RS256',
    pemOptions,
    badPemTokens,
    () => sign(goodClaims(), RSA.privateKey, { algorithm: 'RS256' }),
  ],
] as const)('bad tokens, end to end (%s)', (_kind, options, bads, good) => {
  it('refuses each one with HTTP 401 at the handshake and auth_failed in-band, logging why', async () => {
    const { url, logger } = await startGateway({
      authenticator: jwtAuthenticator(options),
      requireToken: true,
    });
    const list = bads();
    for (const bad of list) await expectRefusedEverywhere(url, bad);
    checkLog(logger, list);
    // The same gateway accepts a genuine token.
    const c = await TestClient.open(url, { headers: { Authorization: `Bearer ${good()}` } });
    expect((await c.welcome()).data).toMatchObject({ authenticated: true, user_id: 'alice' });
  });
});

describe('good tokens and mixed keys', () => {
  it('a good token authenticates at the handshake and in-band, with its claims', async () => {
    const { url } = await startGateway({
      authenticator: jwtAuthenticator(secretOptions),
      requireToken: true,
    });
    const token = sign(goodClaims({ roles: ['reader'], tenant_id: 'acme' }));
    const c = await TestClient.open(url, { headers: { Authorization: `Bearer ${token}` } });
    expect((await c.welcome()).data).toMatchObject({
      authenticated: true,
      user_id: 'alice',
      tenant_id: 'acme',
    });
    const d = await TestClient.open(url);
    await d.welcome();
    expect(await d.request({ type: 'auth', data: { token } })).toMatchObject({
      type: 'ack',
      data: { user_id: 'alice', tenant_id: 'acme', roles: ['reader'], permissions: [] },
    });
  });

  it('with both a secret and a public key, an HS256 token keyed with the public key fails its signature', async () => {
    const { url, logger } = await startGateway({
      authenticator: jwtAuthenticator({ ...pemOptions, secret: SECRET, algorithms: ['RS256', 'HS256'] }),
      requireToken: true,
    });
    const confused: BadToken = {
      name: 'algorithm confusion',
      token: sign(goodClaims(), RSA.publicPem),
      code: 'bad_signature',
      detail: 'the token signature does not verify',
    };
    await expectRefusedEverywhere(url, confused);
    checkLog(logger, [confused]);
    // The same gateway accepts both kinds of genuine tokens.
    for (const token of [sign(goodClaims()), sign(goodClaims(), RSA.privateKey, { algorithm: 'RS256' })]) {
      const c = await TestClient.open(url, { headers: { Authorization: `Bearer ${token}` } });
      expect((await c.welcome()).data).toMatchObject({ authenticated: true, user_id: 'alice' });
    }
  });
});

describe('tokens in other places', () => {
  it('a bad token in the query or the subprotocol is refused with 401 too', async () => {
    const { url, logger } = await startGateway({ authenticator: jwtAuthenticator(secretOptions) });
    const forged = sign(goodClaims(), 'x'.repeat(32));
    expect((await TestClient.refused(`${url}?token=${forged}`)).status).toBe(401);
    expect((await TestClient.refused(url, { protocols: ['dotmac.v1', `bearer.${forged}`] })).status).toBe(
      401,
    );
    expect(authFailures(logger).map((f) => f.reason)).toEqual(['bad_signature', 'bad_signature']);
  });

  it("a header over Node's limit is refused with 431 before the gateway sees it; in-band the token is malformed", async () => {
    const { url, logger } = await startGateway({ authenticator: jwtAuthenticator(secretOptions) });
    const huge = sign(goodClaims({ pad: 'x'.repeat(20_000) }));
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(url);
      const req = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          Authorization: `Bearer ${huge}`,
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(431);
    const c = await TestClient.open(url);
    await c.welcome();
    expect(await c.request({ type: 'auth', data: { token: huge } })).toMatchObject({
      type: 'error',
      data: { code: 'auth_failed' },
    });
    expect(authFailures(logger)).toEqual([
      {
        reason: 'malformed',
        detail: `the token is ${huge.length} characters, over the limit of 8192 (maxTokenLength)`,
      },
    ]);
  });

  it("a token of another tenant than the URL's is refused with 403 at the handshake and forbidden in-band", async () => {
    const { url, logger } = await startGateway({ authenticator: jwtAuthenticator(secretOptions) });
    const token = sign(goodClaims({ tenant_id: 'acme' }));
    const refused = await TestClient.refused(`${url}/tenant/globex`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({
      error: { code: 'tenant_mismatch', message: 'the token belongs to another tenant' },
    });
    const c = await TestClient.open(`${url}/tenant/globex`);
    await c.welcome();
    expect(await c.request({ type: 'auth', data: { token } })).toMatchObject({
      type: 'error',
      data: { code: 'forbidden' },
    });
    const same = await TestClient.open(`${url}/tenant/acme`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect((await same.welcome()).data).toMatchObject({ authenticated: true, tenant_id: 'acme' });
    expect(authFailures(logger).map((f) => f.reason)).toEqual(['tenant_mismatch', 'tenant_mismatch']);
  });
});

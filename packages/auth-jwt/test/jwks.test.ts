import { freePort, sleep, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { jwtAuthenticator } from '../src/index';
import { AUDIENCE, goodClaims, ISSUER } from './bad-tokens';
import { authFailures, jwk, keyPair, sign, startGateway, startJwksServer } from './helpers';

const k1 = keyPair('rsa');
const k2 = keyPair('rsa');
const ec = keyPair('ec');

const rs = (kid: string, key = k1, claims: Record<string, unknown> = {}) =>
  sign(goodClaims(claims), key.privateKey, { algorithm: 'RS256', keyid: kid });

async function accepted(url: string, token: string): Promise<Record<string, unknown>> {
  const c = await TestClient.open(url, { headers: { Authorization: `Bearer ${token}` } });
  const data = (await c.welcome()).data as Record<string, unknown>;
  c.close();
  return data;
}

async function refusedBoth(url: string, token: string): Promise<void> {
  const r = await TestClient.refused(url, { headers: { Authorization: `Bearer ${token}` } });
  expect(r.status).toBe(401);
  expect(JSON.parse(r.body)).toEqual({ error: { code: 'auth_failed', message: 'the token was refused' } });
  const c = await TestClient.open(url);
  await c.welcome();
  expect(await c.request({ type: 'auth', data: { token } })).toMatchObject({
    type: 'error',
    data: { code: 'auth_failed', message: 'the token was refused' },
  });
  c.close();
}

describe('JWKS from a local HTTP server', () => {
  it('verifies with a fetched key, caches it, and refetches once for a rotated kid', async () => {
    const jwks = await startJwksServer([jwk(k1.publicKey, 'k1')]);
    const { url } = await startGateway({
      authenticator: jwtAuthenticator({ jwks: jwks.url, issuer: ISSUER, audience: AUDIENCE }),
      requireToken: true,
    });
    expect(jwks.fetches).toBe(0);
    expect(await accepted(url, rs('k1'))).toMatchObject({ authenticated: true, user_id: 'alice' });
    expect(await accepted(url, rs('k1', k1, { sub: 'bob' }))).toMatchObject({ user_id: 'bob' });
    expect(jwks.fetches).toBe(1);

    // Rotation: the issuer adds k2 and signs with it; the unknown kid fetches the set again.
    jwks.keys = [jwk(k1.publicKey, 'k1'), jwk(k2.publicKey, 'k2')];
    expect(await accepted(url, rs('k2', k2))).toMatchObject({ authenticated: true });
    expect(jwks.fetches).toBe(2);
    // Both keys are now cached: no further fetch for either.
    await accepted(url, rs('k1'));
    await accepted(url, rs('k2', k2));
    expect(jwks.fetches).toBe(2);
  });

  it('refuses an unknown kid (401, auth_failed) and a key of the set used under another kid', async () => {
    const jwks = await startJwksServer([jwk(k1.publicKey, 'k1')]);
    const { url, logger } = await startGateway({
      authenticator: jwtAuthenticator({ jwks: jwks.url, issuer: ISSUER }),
      requireToken: true,
    });
    await refusedBoth(url, rs('nope'));
    // A key that is not in the set, claiming the kid of one that is.
    await refusedBoth(url, rs('k1', k2));
    expect(authFailures(logger)).toEqual([
      { reason: 'unknown_key', detail: `the JWKS of ${jwks.url} has no key "nope"` },
      { reason: 'unknown_key', detail: `the JWKS of ${jwks.url} has no key "nope"` },
      { reason: 'bad_signature', detail: 'the token signature does not verify' },
      { reason: 'bad_signature', detail: 'the token signature does not verify' },
    ]);
  });

  it('rate-limits fetches: unknown kids past jwksRequestsPerMinute are refused without fetching', async () => {
    const jwks = await startJwksServer([jwk(k1.publicKey, 'k1')]);
    const { url, logger } = await startGateway({
      authenticator: jwtAuthenticator({ jwks: jwks.url, jwksRequestsPerMinute: 3 }),
    });
    for (let i = 0; i < 8; i++) {
      const r = await TestClient.refused(url, { headers: { Authorization: `Bearer ${rs(`u${i}`)}` } });
      expect(r.status).toBe(401);
    }
    expect(jwks.fetches).toBe(3);
    const details = authFailures(logger).map((f) => `${f.reason}: ${f.detail}`);
    expect(details.slice(0, 3)).toEqual(
      [0, 1, 2].map((i) => `unknown_key: the JWKS of ${jwks.url} has no key "u${i}"`),
    );
    expect(details.slice(3)).toEqual(
      [3, 4, 5, 6, 7].map(
        (i) =>
          `unknown_key: the key "u${i}" is not cached and the JWKS of ${jwks.url} was not fetched again: at most 3 fetches a minute (jwksRequestsPerMinute)`,
      ),
    );
    // Keys the last fetch brought stay usable while the limit holds.
    expect(await accepted(url, rs('k1'))).toMatchObject({ authenticated: true });
    expect(jwks.fetches).toBe(3);
  });

  it('concurrent lookups of an unknown kid share one fetch', async () => {
    const jwks = await startJwksServer([jwk(k1.publicKey, 'k1')]);
    const auth = jwtAuthenticator({ jwks: jwks.url });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => auth.authenticate(rs('k1'))));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(jwks.fetches).toBe(1);
  });

  it('an unreachable JWKS or one that answers 500 is key_unavailable (401, auth_failed)', async () => {
    const port = await freePort();
    const down = `http://127.0.0.1:${port}/jwks.json`;
    const { url, logger } = await startGateway({
      authenticator: jwtAuthenticator({ jwks: down, jwksTimeoutMs: 1000 }),
      requireToken: true,
    });
    await refusedBoth(url, rs('k1'));
    const failures = authFailures(logger);
    expect(failures.map((f) => f.reason)).toEqual(['key_unavailable', 'key_unavailable']);
    expect(failures[0]!.detail).toMatch(
      new RegExp(`^the JWKS of http://127.0.0.1:${port}/jwks.json could not be fetched: .*ECONNREFUSED`),
    );

    const broken = await startJwksServer([jwk(k1.publicKey, 'k1')]);
    broken.failWith = 500;
    const auth = jwtAuthenticator({ jwks: broken.url });
    await expect(auth.authenticate(rs('k1'))).rejects.toMatchObject({
      code: 'key_unavailable',
      message: `the JWKS of ${broken.url} could not be fetched: Internal Server Error`,
    });
    // Once the endpoint recovers, the next lookup fetches again and succeeds.
    broken.failWith = null;
    await expect(auth.authenticate(rs('k1'))).resolves.toMatchObject({ userId: 'alice' });
    expect(broken.fetches).toBe(2);
  });

  it('keys are per issuer: a key of one issuer never verifies a token naming another', async () => {
    const a = await startJwksServer([jwk(k1.publicKey, 'a1')]);
    // Issuer B reuses the kid "a1" for its own key, and has "b1".
    const b = await startJwksServer([jwk(k2.publicKey, 'a1'), jwk(k2.publicKey, 'b1')]);
    const { url, logger } = await startGateway({
      authenticator: jwtAuthenticator({
        jwks: [
          { uri: a.url, issuer: 'https://a.test' },
          { uri: b.url, issuer: 'https://b.test' },
        ],
      }),
      requireToken: true,
    });
    const asA = { iss: 'https://a.test' };
    const asB = { iss: 'https://b.test' };
    expect(await accepted(url, rs('a1', k1, asA))).toMatchObject({ authenticated: true });
    expect(await accepted(url, rs('b1', k2, asB))).toMatchObject({ authenticated: true });
    // B's key, naming issuer A: A's JWKS has no b1, and its a1 is another key.
    await refusedBoth(url, rs('b1', k2, asA));
    await refusedBoth(url, rs('a1', k2, asA));
    // An issuer with no JWKS.
    await refusedBoth(url, rs('a1', k1, { iss: 'https://c.test' }));
    expect(authFailures(logger).map((f) => f.reason)).toEqual([
      'unknown_key',
      'unknown_key',
      'bad_signature',
      'bad_signature',
      'wrong_issuer',
      'wrong_issuer',
    ]);
    expect(authFailures(logger)[4]!.detail).toBe(
      `no JWKS is configured for the token's issuer "https://c.test"`,
    );
  });

  it("refuses a token whose alg differs from its JWK's alg, and verifies EC keys (ES256)", async () => {
    const jwks = await startJwksServer([jwk(k1.publicKey, 'k1', 'RS256'), jwk(ec.publicKey, 'e1', 'ES256')]);
    const auth = jwtAuthenticator({ jwks: jwks.url, algorithms: ['RS256', 'PS256', 'ES256'] });
    await expect(
      auth.authenticate(sign(goodClaims(), k1.privateKey, { algorithm: 'PS256', keyid: 'k1' })),
    ).rejects.toMatchObject({
      code: 'algorithm_not_allowed',
      message: `the key "k1" of ${jwks.url} is for RS256, the token is signed with PS256`,
    });
    await expect(
      auth.authenticate(sign(goodClaims(), ec.privateKey, { algorithm: 'ES256', keyid: 'e1' })),
    ).resolves.toMatchObject({ userId: 'alice' });
    // A JWK without alg is checked against its key type.
    jwks.keys = [jwk(ec.publicKey, 'e2', null)];
    await expect(
      auth.authenticate(sign(goodClaims(), k1.privateKey, { algorithm: 'RS256', keyid: 'e2' })),
    ).rejects.toMatchObject({ code: 'algorithm_not_allowed' });
  });

  it('a token without kid is verified when the set has one key, refused when it has several', async () => {
    const jwks = await startJwksServer([jwk(k1.publicKey, 'k1')]);
    const auth = jwtAuthenticator({ jwks: jwks.url });
    const noKid = sign(goodClaims(), k1.privateKey, { algorithm: 'RS256' });
    await expect(auth.authenticate(noKid)).resolves.toMatchObject({ userId: 'alice' });
    const several = await startJwksServer([jwk(k1.publicKey, 'k1'), jwk(k2.publicKey, 'k2')]);
    await expect(jwtAuthenticator({ jwks: several.url }).authenticate(noKid)).rejects.toMatchObject({
      code: 'unknown_key',
      message: `the token has no kid and the JWKS of ${several.url} holds 2 keys`,
    });
  });
});

describe('JWKS cache age', () => {
  it('refetches an aged set; while the endpoint is down, keys already fetched keep working and new kids are key_unavailable', async () => {
    const jwks = await startJwksServer([jwk(k1.publicKey, 'k1')]);
    const auth = jwtAuthenticator({ jwks: jwks.url, jwksCacheMaxAgeMs: 1000 });
    await expect(auth.authenticate(rs('k1'))).resolves.toMatchObject({ userId: 'alice' });
    await sleep(1100);
    // Aged: the set is fetched again, and a key removed from it is gone.
    jwks.keys = [jwk(k2.publicKey, 'k2')];
    await expect(auth.authenticate(rs('k2', k2))).resolves.toMatchObject({ userId: 'alice' });
    expect(jwks.fetches).toBe(2);
    await expect(auth.authenticate(rs('k1'))).rejects.toMatchObject({ code: 'unknown_key' });
    expect(jwks.fetches).toBe(3);
    await sleep(1100);
    jwks.failWith = 503;
    await expect(auth.authenticate(rs('k2', k2))).resolves.toMatchObject({ userId: 'alice' });
    await expect(auth.authenticate(rs('k3', k1))).rejects.toMatchObject({
      code: 'key_unavailable',
      message: `the JWKS of ${jwks.url} could not be fetched: Service Unavailable`,
    });
    expect(jwks.fetches).toBe(5);
  });
});

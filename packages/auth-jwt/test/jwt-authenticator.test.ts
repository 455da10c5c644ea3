import { AuthError, ConfigError } from '@dotmac-ws/core';
import { describe, expect, it } from 'vitest';
import { type JwtAuthenticatorOptions, jwtAuthenticator } from '../src/index';
import { hmacToken, keyPair, nowSec, SECRET, sign } from './helpers';

const rsa = keyPair('rsa');
const ec = keyPair('ec');

function problemsOf(options: JwtAuthenticatorOptions): readonly string[] {
  try {
    jwtAuthenticator(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message.startsWith('Invalid JWT authenticator options:\n  - ')).toBe(true);
    return (error as ConfigError).problems;
  }
  throw new Error('the options were accepted');
}

describe('jwtAuthenticator(options): checks', () => {
  it('needs a key', () => {
    expect(problemsOf({})).toEqual([
      'no key is set: set secret (HS*), publicKey (PEM) or jwks (URL) to verify tokens with',
    ]);
  });

  it('reports every problem at once, never echoing a secret', () => {
    const problems = problemsOf({
      secret: 'short-secret',
      algorithms: ['HS256', 'none' as never, 'RS256', 'XX1' as never],
      issuer: '',
      audience: [] as never,
      clockToleranceSec: -1,
      maxAgeSec: 0,
      maxTokenLength: 10,
      requireExp: 'yes' as never,
      jwksRequestsPerMinute: 0,
      claims: { userId: '', groups: 'g' } as never,
    });
    expect(problems).toEqual([
      'clockToleranceSec is -1 when it must be an integer from 0 to 86400',
      'maxAgeSec is 0 when it must be an integer from 1 to 31536000',
      'maxTokenLength is 10 when it must be an integer from 256 to 1048576',
      'jwksRequestsPerMinute is 0 when it must be an integer from 1 to 10000',
      "requireExp is 'yes' when it must be true or false",
      "issuer is '' when it must be a non-empty string or a list of them",
      'audience is an empty array when it must be a non-empty string or a list of them',
      "algorithms contains 'none': unsigned tokens are never accepted",
      'algorithms allows RS256 but neither publicKey nor jwks is set to verify it with',
      "algorithms contains 'XX1' when each must be one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512",
      'secret is 12 bytes when HS256 needs at least 32 (RFC 7518, section 3.2)',
      "claims.userId is '' when it must be a claim name or an array of names (a path)",
      'claims.groups is not a claim mapping: use userId, tenantId, roles or permissions',
    ]);
    expect(problems.join('\n')).not.toContain('short-secret');
  });

  it('matches algorithms to keys', () => {
    expect(problemsOf({ secret: SECRET, algorithms: ['RS256'] })).toEqual([
      'algorithms allows RS256 but neither publicKey nor jwks is set to verify it with',
      `secret is set but algorithms ["RS256"] allows no HS algorithm to use it`,
    ]);
    expect(problemsOf({ publicKey: rsa.publicPem, algorithms: ['ES256'] })).toEqual([
      'algorithms allows ES256 but publicKey is a rsa key, which verifies only RS256, RS384, RS512, PS256, PS384, PS512',
    ]);
    expect(problemsOf({ publicKey: ec.publicPem, algorithms: ['HS256'] })).toEqual([
      'algorithms allows HS256 but no secret is set to verify it with',
      'publicKey is set but algorithms ["HS256"] allows no RS, PS or ES algorithm to use it',
    ]);
    expect(problemsOf({ secret: SECRET, algorithms: ['HS512'] })).toEqual([
      'secret is 33 bytes when HS512 needs at least 64 (RFC 7518, section 3.2)',
    ]);
  });

  it('refuses a private key, non-PEM text and both publicKey and jwks', () => {
    expect(problemsOf({ publicKey: rsa.privatePem })).toEqual([
      'publicKey is a private key: give the gateway the public key (BEGIN PUBLIC KEY) only',
    ]);
    expect(problemsOf({ publicKey: 'hello' })).toEqual([
      'publicKey is not PEM text: it must start with -----BEGIN PUBLIC KEY-----',
    ]);
    expect(
      problemsOf({ publicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' })[0],
    ).toMatch(/^publicKey could not be read as a PEM public key \(/);
    expect(problemsOf({ publicKey: rsa.publicKey, jwks: 'https://x.test/jwks' })).toEqual([
      'publicKey and jwks are both set: verify asymmetric tokens with one or the other',
    ]);
    expect(problemsOf({ jwks: 'ftp://x.test/jwks' })).toEqual([
      "jwks.uri is 'ftp://x.test/jwks' when it must be an http(s) URL",
    ]);
    expect(
      problemsOf({
        jwks: [
          { uri: 'https://a.test/j' },
          { uri: 'https://b.test/j' },
          { uri: 'https://c.test/j', issuer: 'c' },
        ],
        issuer: 'a',
      }),
    ).toEqual([
      'jwks has more than one source without an issuer: bind each to the issuer it serves',
      'jwks names the issuer \'c\', which is not one of issuer ["a"]',
    ]);
  });

  it('derives the algorithms from the keys when none are given', () => {
    expect(jwtAuthenticator({ secret: SECRET }).algorithms).toEqual(['HS256']);
    expect(jwtAuthenticator({ publicKey: rsa.publicPem }).algorithms).toEqual(['RS256']);
    expect(jwtAuthenticator({ publicKey: ec.publicKey }).algorithms).toEqual(['ES256']);
    expect(jwtAuthenticator({ secret: SECRET, jwks: 'https://x.test/jwks' }).algorithms).toEqual([
      'HS256',
      'RS256',
    ]);
  });
});

describe('jwtAuthenticator: claims to identity', () => {
  it('maps sub, tenant_id, roles, permissions and exp (ms) by default', async () => {
    const exp = nowSec() + 60;
    const identity = await jwtAuthenticator({ secret: SECRET }).authenticate(
      sign({ sub: 'alice', tenant_id: 'acme', roles: ['admin'], permissions: 'chat:read chat:write', exp }),
    );
    expect(identity).toMatchObject({
      userId: 'alice',
      tenantId: 'acme',
      roles: ['admin'],
      permissions: ['chat:read', 'chat:write'],
      expiresAt: exp * 1000,
    });
    expect(identity.extra).toMatchObject({ claims: { sub: 'alice', tenant_id: 'acme', exp } });
  });

  it('reads custom claim names and nested paths', async () => {
    const auth = jwtAuthenticator({
      secret: SECRET,
      claims: {
        userId: 'uid',
        tenantId: 'https://example.com/tenant',
        roles: ['realm_access', 'roles'],
        permissions: 'scope',
      },
    });
    expect(
      await auth.authenticate(
        sign({
          uid: 'u1',
          'https://example.com/tenant': 't1',
          realm_access: { roles: ['ops'] },
          scope: 'read write',
        }),
      ),
    ).toMatchObject({ userId: 'u1', tenantId: 't1', roles: ['ops'], permissions: ['read', 'write'] });
    await expect(auth.authenticate(sign({ sub: 'alice' }))).rejects.toMatchObject({
      code: 'missing_claim',
      message: 'the token has no "uid" claim',
    });
  });

  it('uses a mapping function, and refuses what it returns wrong', async () => {
    const auth = jwtAuthenticator({
      secret: SECRET,
      claims: (c) => ({ userId: String(c.email ?? ''), roles: c.admin === true ? ['admin'] : [] }),
    });
    expect(await auth.authenticate(sign({ email: 'a@x.test', admin: true }))).toMatchObject({
      userId: 'a@x.test',
      roles: ['admin'],
      permissions: [],
    });
    await expect(auth.authenticate(sign({}))).rejects.toMatchObject({
      code: 'missing_claim',
      message: 'the claim mapping returned no userId',
    });
    const throwing = jwtAuthenticator({
      secret: SECRET,
      claims: () => {
        throw new Error('boom');
      },
    });
    await expect(throwing.authenticate(sign({ sub: 'a' }))).rejects.toMatchObject({
      code: 'invalid',
      message: 'the claim mapping failed: boom',
    });
  });

  it('refuses bad claim types and a tenant id that is not one', async () => {
    const auth = jwtAuthenticator({ secret: SECRET });
    await expect(auth.authenticate(sign({ sub: 42 }))).rejects.toMatchObject({
      code: 'invalid',
      message: 'the "sub" claim must be a string',
    });
    await expect(auth.authenticate(sign({ sub: 'a', tenant_id: 'a:b' }))).rejects.toMatchObject({
      code: 'invalid',
    });
    const badExp = hmacToken({ alg: 'HS256' }, { sub: 'a', exp: 'soon' });
    await expect(auth.authenticate(badExp)).rejects.toMatchObject({
      code: 'invalid',
      message: `the token's exp claim is not a number`,
    });
    await expect(auth.authenticate(badExp)).rejects.toBeInstanceOf(AuthError);
    // A `__proto__` claim path reads nothing from Object.prototype.
    const proto = jwtAuthenticator({ secret: SECRET, claims: { roles: ['__proto__', 'roles'] } });
    expect((await proto.authenticate(sign({ sub: 'a' }))).roles).toEqual([]);
  });

  it('without requireExp a token without exp never expires; clock tolerance extends exp and nbf', async () => {
    const lax = jwtAuthenticator({ secret: SECRET, requireExp: false });
    expect((await lax.authenticate(sign({ sub: 'a', exp: undefined }))).expiresAt).toBeNull();
    const tolerant = jwtAuthenticator({ secret: SECRET, clockToleranceSec: 30 });
    const exp = nowSec() - 10;
    expect((await tolerant.authenticate(sign({ sub: 'a', exp }))).expiresAt).toBe((exp + 30) * 1000);
    await expect(tolerant.authenticate(sign({ sub: 'a', nbf: nowSec() + 10 }))).resolves.toMatchObject({
      userId: 'a',
    });
    await expect(tolerant.authenticate(sign({ sub: 'a', exp: nowSec() - 40 }))).rejects.toMatchObject({
      code: 'expired',
    });
  });

  it('verifies HS384 and HS512 with the secret, and refuses a token signed under another hash', async () => {
    const long = SECRET.repeat(2);
    const auth = jwtAuthenticator({ secret: long, algorithms: ['HS384', 'HS512'] });
    for (const algorithm of ['HS384', 'HS512'] as const) {
      expect(await auth.authenticate(sign({ sub: algorithm }, long, { algorithm }))).toMatchObject({
        userId: algorithm,
      });
    }
    // An HS512 signature under an HS384 header: the lengths differ, the check refuses it.
    const [, p, s] = sign({ sub: 'x' }, long, { algorithm: 'HS512' }).split('.');
    const h = Buffer.from(JSON.stringify({ alg: 'HS384', typ: 'JWT' })).toString('base64url');
    await expect(auth.authenticate(`${h}.${p}.${s}`)).rejects.toMatchObject({ code: 'bad_signature' });
  });

  it('checks the claims of an RS256 token as of an HS256 one', async () => {
    const auth = jwtAuthenticator({ publicKey: rsa.publicPem, audience: 'x', maxAgeSec: 60 });
    const rs = (claims: Record<string, unknown>) => sign(claims, rsa.privateKey, { algorithm: 'RS256' });
    expect(await auth.authenticate(rs({ sub: 'a', aud: 'x', iat: nowSec() }))).toMatchObject({ userId: 'a' });
    await expect(auth.authenticate(rs({ sub: 'a', aud: 'y', iat: nowSec() }))).rejects.toMatchObject({
      code: 'wrong_audience',
    });
    await expect(auth.authenticate(rs({ sub: 'a', aud: 'x', iat: nowSec() - 120 }))).rejects.toMatchObject({
      code: 'too_old',
    });
    await expect(
      auth.authenticate(rs({ sub: 'a', aud: 'x', iat: nowSec(), nbf: nowSec() + 60 })),
    ).rejects.toMatchObject({ code: 'not_yet_valid' });
    await expect(
      auth.authenticate(rs({ sub: 'a', aud: 'x', iat: nowSec(), exp: undefined })),
    ).rejects.toMatchObject({
      code: 'missing_claim',
    });
  });

  it('accepts any of several issuers and audiences', async () => {
    const auth = jwtAuthenticator({ secret: SECRET, issuer: ['a', 'b'], audience: ['x', 'y'] });
    expect(await auth.authenticate(sign({ sub: 's', iss: 'b', aud: ['z', 'y'] }))).toMatchObject({
      userId: 's',
    });
    await expect(auth.authenticate(sign({ sub: 's', iss: 'b', aud: 'z' }))).rejects.toMatchObject({
      code: 'wrong_audience',
      message: `the token's audience "z" is not one of x, y`,
    });
  });
});

describe('decoded headers kept between tokens', () => {
  it('verifies every token of a shared header on its own, and still refuses a bad signature or header', async () => {
    const auth = jwtAuthenticator({ secret: SECRET });
    const header = { alg: 'HS256', typ: 'JWT' };
    for (let i = 0; i < 50; i++) {
      const token = hmacToken(header, { sub: `u${i}`, exp: nowSec() + 60 });
      await expect(auth.authenticate(token)).resolves.toMatchObject({ userId: `u${i}` });
    }
    const forged = hmacToken(header, { sub: 'x', exp: nowSec() + 60 }, 'another-secret-of-32-characters!!');
    await expect(auth.authenticate(forged)).rejects.toMatchObject({ code: 'bad_signature' });
    const none = hmacToken({ alg: 'none' }, { sub: 'x' });
    await expect(auth.authenticate(none)).rejects.toMatchObject({ code: 'algorithm_not_allowed' });
    await expect(auth.authenticate(none)).rejects.toMatchObject({ code: 'algorithm_not_allowed' });
  });

  it('keeps decoding correctly past the number of headers it keeps', async () => {
    const auth = jwtAuthenticator({ secret: SECRET });
    // 40 distinct headers (more than are kept), twice over: each token answers for its own header.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 40; i++) {
        const alg = i % 5 === 0 ? 'HS512' : 'HS256';
        const token =
          alg === 'HS256'
            ? hmacToken({ alg, typ: 'JWT', kid: `k${i}` }, { sub: `u${i}`, exp: nowSec() + 60 })
            : sign({ sub: `u${i}` }, SECRET, { algorithm: 'HS512', keyid: `k${i}` });
        const result = auth.authenticate(token);
        if (alg === 'HS512') await expect(result).rejects.toMatchObject({ code: 'algorithm_not_allowed' });
        else await expect(result).resolves.toMatchObject({ userId: `u${i}` });
      }
    }
  });
});

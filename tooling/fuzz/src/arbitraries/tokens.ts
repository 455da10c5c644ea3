import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { JWT_SECRET } from '../gateway-under-test';
import { PROTO_KEY_TEXTS } from './hostile-json';

const b64url = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

/** A JWT from raw header and payload JSON text, signed with HS256 under `key` ('' leaves no signature). */
export function signJwt(headerJson: string, payloadJson: string, key: string): string {
  const signingInput = `${b64url(headerJson)}.${b64url(payloadJson)}`;
  const signature = key === '' ? '' : createHmac('sha256', key).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** Tenant ids: valid, of another shape, or hostile. */
export const tenantIdText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('acme', 'globex', 't-1', 'a/b', 'a.b@c=d') },
  { weight: 1, arbitrary: fc.constantFrom('a:b', 'x'.repeat(201), '', '..', '__proto__', 'é', 'a b') },
);

/** `arb` one time in five, else undefined (a claim that is mostly absent). */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** Claims of a token as JSON text (the payload), some missing, of the wrong type, or with prototype keys. */
const claimsText: fc.Arbitrary<string> = fc
  .record({
    sub: fc.option(fc.oneof(fc.constantFrom('alice', 'bob', 'a/b', 'x'.repeat(300), ''), fc.string()), {
      nil: undefined,
    }),
    tenant: fc.option(tenantIdText, { nil: undefined }),
    roles: fc.option(fc.oneof(fc.array(fc.constantFrom('admin', 'user', '*', '')), fc.constant('admin')), {
      nil: undefined,
    }),
    permissions: fc.option(fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }), { nil: undefined }),
    expIn: fc.oneof(
      { weight: 6, arbitrary: fc.constant<number | null | string>(3600) },
      { weight: 1, arbitrary: fc.constantFrom<number | null | string>(60, -10, null, 1e20, -1e20, '3600') },
      { weight: 1, arbitrary: fc.integer({ min: -100_000, max: 100_000 }) },
    ),
    nbfIn: rarely(fc.constantFrom(-10, 3600)),
    channels: rarely(fc.array(fc.constantFrom('news', 'bad channel', 'tenant:globex:news'))),
    protoMember: rarely(fc.constantFrom(...PROTO_KEY_TEXTS)),
  })
  .map((c) => {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { iat: now };
    if (c.sub !== undefined) claims.sub = c.sub;
    if (c.tenant !== undefined) claims.tenant_id = c.tenant;
    if (c.roles !== undefined) claims.roles = c.roles;
    if (c.permissions !== undefined) claims.permissions = c.permissions;
    if (c.expIn !== null) claims.exp = typeof c.expIn === 'number' ? now + c.expIn : c.expIn;
    if (c.nbfIn !== undefined) claims.nbf = now + c.nbfIn;
    if (c.channels !== undefined) claims.channels = c.channels;
    const text = JSON.stringify(claims);
    return c.protoMember === undefined ? text : `${text.slice(0, -1)},${c.protoMember}:{"roles":["admin"]}}`;
  });

/**
 * A bearer token: mostly well signed with the gateway's secret (with random, expired or
 * hostile claims), else forged: another key, `alg: none`, RS256 named over an HMAC, or garbage.
 */
export const tokenText: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: claimsText.map((p) => signJwt('{"alg":"HS256","typ":"JWT"}', p, JWT_SECRET)) },
  { weight: 1, arbitrary: claimsText.map((p) => signJwt('{"alg":"HS256"}', p, 'not-the-secret')) },
  { weight: 1, arbitrary: claimsText.map((p) => signJwt('{"alg":"none"}', p, '')) },
  { weight: 1, arbitrary: claimsText.map((p) => signJwt('{"alg":"RS256"}', p, JWT_SECRET)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      'a.b.c',
      '...',
      'x'.repeat(9000),
      `${b64url('{"alg":"HS256"}')}.${b64url('not json')}.sig`,
      `${b64url('{"alg":"HS256","crit":["x"]}')}.${b64url('{}')}.`,
      `${b64url('{"alg":"HS256","kid":"../../etc/passwd"}')}.${b64url('{"sub":"a"}')}.AAAA`,
      '\u00ff\u00fe.\u0000.\u2028',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
);

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@dotmac-ws/core';
import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { jwk, keyPair, SECRET, sign, startJwksServer } from '../../../packages/auth-jwt/test/helpers';
import { createGatewayFromEnv } from '../src/index';
import { BASE_ENV as BASE, problemsOf, startApp } from './helpers';

const rsa = keyPair('rsa');
const dir = mkdtempSync(join(tmpdir(), 'dotmac-auth-jwt-'));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

const startUrl = async (env: Record<string, string>) => (await startApp(env)).url;

describe('auth-jwt plugin: environment problems', () => {
  it('REQUIRE_TOKEN=true without any JWT key is a configuration problem', () => {
    expect(problemsOf({ REQUIRE_TOKEN: 'true' })).toEqual([
      'REQUIRE_TOKEN is true but no JWT key is set: set JWT_SECRET_KEY, JWT_PUBLIC_KEY, JWT_PUBLIC_KEY_FILE or JWKS_URL',
    ]);
    expect(problemsOf({ JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: 'x' })).toEqual([
      'JWT_ISSUER is set but no JWT key is, so authentication would stay off',
      'JWT_AUDIENCE is set but no JWT key is, so authentication would stay off',
    ]);
  });

  it('reports every problem in the variable names, in one error, without the secret', () => {
    const rules = file(
      'bad-rules.json',
      JSON.stringify([{ pattern: 'a b' }, { pattern: 'x', publish: 'yes' }]),
    );
    let error: unknown;
    try {
      createGatewayFromEnv({
        ...BASE,
        JWT_SECRET_KEY: 'tiny5',
        JWT_ALGORITHM: 'none,HS256,RS256',
        CHANNEL_RULES_FILE: rules,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "JWT_ALGORITHM contains 'none': unsigned tokens are never accepted",
      'JWT_ALGORITHM allows RS256 but neither JWT_PUBLIC_KEY nor JWKS_URL is set to verify it with',
      'JWT_SECRET_KEY is 5 bytes when HS256 needs at least 32 (RFC 7518, section 3.2)',
      `CHANNEL_RULES_FILE '${rules}': rules[0].pattern 'a b' has " " at 1: use channel-name characters (A-Z a-z 0-9 _ - . : @ / =), '*' and {sub}, {user_id}, {tenant_id}`,
      `CHANNEL_RULES_FILE '${rules}': rules[1].publish is "yes" when it must be true, false, 'authenticated' or { roles?, permissions? }`,
    ]);
    expect((error as Error).message).toMatch(/^Invalid environment:\n/);
    expect((error as Error).message).not.toContain('tiny5');
  });

  it('reports unreadable, doubled or private keys and bad rule files', () => {
    expect(problemsOf({ JWT_PUBLIC_KEY_FILE: join(dir, 'missing.pem') })).toEqual([
      `JWT_PUBLIC_KEY_FILE is set as '${join(dir, 'missing.pem')}' but it cannot be read (ENOENT)`,
    ]);
    expect(
      problemsOf({ JWT_PUBLIC_KEY_FILE: file('k.pem', rsa.publicPem), JWT_PUBLIC_KEY: rsa.publicPem }),
    ).toEqual(['JWT_PUBLIC_KEY and JWT_PUBLIC_KEY_FILE are both set: give the key one way']);
    const privateProblems = problemsOf({ JWT_PUBLIC_KEY_FILE: file('private.pem', rsa.privatePem) });
    expect(privateProblems).toEqual([
      'JWT_PUBLIC_KEY_FILE is a private key: give the gateway the public key (BEGIN PUBLIC KEY) only',
    ]);
    expect(privateProblems.join('')).not.toContain(rsa.privatePem.slice(40, 80));
    expect(problemsOf({ JWKS_URL: 'ftp://keys.test/jwks' })).toEqual([
      "JWKS_URL is set as 'ftp://keys.test/jwks' when it must be an http(s) URL",
    ]);
    const notJson = file('rules.txt', 'pattern: admin:*');
    expect(problemsOf({ CHANNEL_RULES_FILE: notJson })[0]).toMatch(
      new RegExp(`^CHANNEL_RULES_FILE '${notJson}' is not JSON: `),
    );
    expect(problemsOf({ CHANNEL_RULES_FILE: join(dir, 'nope.json') })).toEqual([
      `CHANNEL_RULES_FILE is set as '${join(dir, 'nope.json')}' but it cannot be read (ENOENT)`,
    ]);
  });
});

describe('auth-jwt plugin: the reference gateway with auth on', () => {
  it('without a JWT key, auth stays off', () => {
    const { gateway } = createGatewayFromEnv(BASE);
    expect(gateway.config.authenticator).toBeUndefined();
    expect(gateway.config.requireToken).toBe(false);
  });

  it('JWT_SECRET_KEY + REQUIRE_TOKEN: real clients authenticate at the handshake or in-band', async () => {
    const url = await startUrl({
      JWT_SECRET_KEY: SECRET,
      REQUIRE_TOKEN: 'true',
      JWT_ISSUER: 'https://issuer.test',
      JWT_AUDIENCE: 'dotmac',
    });
    const claims = { sub: 'alice', iss: 'https://issuer.test', aud: 'dotmac', roles: ['admin'] };
    const c = await TestClient.open(url, bearer(sign(claims)));
    expect((await c.welcome()).data).toMatchObject({ authenticated: true, user_id: 'alice' });

    const anon = await TestClient.open(url);
    expect((await anon.welcome()).data).toMatchObject({ authenticated: false });
    expect(await anon.request({ type: 'subscribe', channel: 'news' })).toMatchObject({
      type: 'error',
      data: { code: 'unauthenticated' },
    });
    expect(await anon.request({ type: 'auth', data: { token: sign(claims) } })).toMatchObject({
      type: 'ack',
      data: { user_id: 'alice', roles: ['admin'] },
    });
    expect(await anon.request({ type: 'subscribe', channel: 'news' })).toMatchObject({ type: 'ack' });

    for (const bad of [sign({ ...claims, aud: 'other' }), sign(claims, 'x'.repeat(32)), 'garbage']) {
      expect((await TestClient.refused(url, bearer(bad))).status).toBe(401);
    }
  });

  it('JWT_PUBLIC_KEY_FILE and JWT_PUBLIC_KEY (one line with \\n escapes) verify RS256 and refuse HS256 keyed with the PEM', async () => {
    const fromFile = await startUrl({
      JWT_PUBLIC_KEY_FILE: file('public.pem', rsa.publicPem),
      REQUIRE_TOKEN: 'true',
    });
    const inline = await startUrl({ JWT_PUBLIC_KEY: rsa.publicPem.replace(/\n/g, '\\n') });
    const good = sign({ sub: 'bob' }, rsa.privateKey, { algorithm: 'RS256' });
    const confused = sign({ sub: 'bob' }, rsa.publicPem);
    for (const url of [fromFile, inline]) {
      const c = await TestClient.open(url, bearer(good));
      expect((await c.welcome()).data).toMatchObject({ authenticated: true, user_id: 'bob' });
      expect((await TestClient.refused(url, bearer(confused))).status).toBe(401);
    }
  });

  it('JWKS_URL verifies with keys from a local JWKS server and refuses unknown kids', async () => {
    const jwks = await startJwksServer([jwk(rsa.publicKey, 'k1')]);
    const url = await startUrl({ JWKS_URL: jwks.url, REQUIRE_TOKEN: 'true' });
    const c = await TestClient.open(
      url,
      bearer(sign({ sub: 'carol' }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1' })),
    );
    expect((await c.welcome()).data).toMatchObject({ authenticated: true, user_id: 'carol' });
    const unknown = sign({ sub: 'carol' }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k9' });
    expect((await TestClient.refused(url, bearer(unknown))).status).toBe(401);
    expect(jwks.fetches).toBe(2);
  });

  it('CHANNEL_RULES_FILE: the rules decide subscribing and publishing, over CLIENT_PUBLISH', async () => {
    const rules = file(
      'rules.json',
      JSON.stringify({
        rules: [
          { pattern: 'user:{sub}', subscribe: 'authenticated' },
          { pattern: 'chat:*', subscribe: 'authenticated', publish: { permissions: ['chat:write'] } },
        ],
      }),
    );
    const url = await startUrl({ JWT_SECRET_KEY: SECRET, CHANNEL_RULES_FILE: rules, CLIENT_PUBLISH: 'true' });
    const writer = await TestClient.open(url, bearer(sign({ sub: 'alice', permissions: ['chat:write'] })));
    const reader = await TestClient.open(url, bearer(sign({ sub: 'bob' })));
    await writer.welcome();
    await reader.welcome();
    expect(await reader.request({ type: 'subscribe', channel: 'chat:lobby' })).toMatchObject({ type: 'ack' });
    expect(await writer.request({ type: 'publish', channel: 'chat:lobby', data: 'hi' })).toMatchObject({
      type: 'ack',
    });
    expect(await reader.waitFor((f) => f.channel === 'chat:lobby')).toEqual({
      type: 'message',
      channel: 'chat:lobby',
      data: 'hi',
    });
    expect(await reader.request({ type: 'publish', channel: 'chat:lobby', data: 'x' })).toMatchObject({
      type: 'error',
      data: { code: 'forbidden' },
    });
    expect(await writer.request({ type: 'publish', channel: 'news', data: 'x' })).toMatchObject({
      type: 'error',
      data: { code: 'forbidden' },
    });
    expect(await reader.request({ type: 'subscribe', channel: 'user:alice' })).toMatchObject({
      type: 'error',
      data: { code: 'forbidden' },
    });
  });
});

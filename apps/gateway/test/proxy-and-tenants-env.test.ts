import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { createGatewayFromEnv } from '../src/index';
import { BASE_ENV as BASE, problemsOf, startApp } from './helpers';

describe('TRUST_PROXY', () => {
  it.each([
    [undefined, 'none'],
    ['false', 'none'],
    ['2', '2 hops'],
    ['10.0.0.0/8, loopback', '10.0.0.0/8, loopback'],
    ['true', 'loopback'],
  ])('%s trusts %s', (value, description) => {
    const env = value === undefined ? BASE : { ...BASE, TRUST_PROXY: value };
    expect(createGatewayFromEnv(env).gateway.config.trustProxy.description).toBe(description);
  });

  it('names a bad entry by the variable, with the text it was set as', () => {
    const what =
      "an IP address, a CIDR range such as '10.0.0.0/8' or 'fd00::/8', or loopback, linklocal or uniquelocal";
    expect(problemsOf({ TRUST_PROXY: 'x' })).toEqual([`TRUST_PROXY is set as 'x' when it must be ${what}`]);
    expect(problemsOf({ TRUST_PROXY: '10.0.0.0/8, proxy.local' })).toEqual([
      `TRUST_PROXY is set as '10.0.0.0/8, proxy.local', whose entry 'proxy.local' is not valid: each entry must be ${what}`,
    ]);
    expect(problemsOf({ TRUST_PROXY: '500' })).toEqual([
      "TRUST_PROXY is set as '500' when a hop count must be an integer from 0 to 100",
    ]);
  });

  it('behind a trusted loopback proxy, the right-most address of X-Forwarded-For is the client', async () => {
    const { url, gateway } = await startApp({ TRUST_PROXY: 'loopback' });
    const c = await TestClient.open(url, { headers: { 'X-Forwarded-For': '6.6.6.6, 203.0.113.7' } });
    const welcome = await c.welcome();
    const id = (welcome.data as { session_id: string }).session_id;
    expect(gateway.getSession(id)?.remoteAddress).toBe('203.0.113.7');
  });
});

describe('TENANT_AGNOSTIC_TOKENS', () => {
  it('is off by default and sets tenantAgnosticTokens', () => {
    expect(createGatewayFromEnv(BASE).gateway.config.tenantAgnosticTokens).toBe(false);
    expect(
      createGatewayFromEnv({ ...BASE, TENANT_AGNOSTIC_TOKENS: 'true' }).gateway.config.tenantAgnosticTokens,
    ).toBe(true);
  });
});

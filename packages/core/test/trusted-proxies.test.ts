import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { ConfigError, type GatewayOptions, WebSocketGateway } from '../src/index';
import { clientAddress, compileTrustProxy } from '../src/trusted-proxies';
import { startTestGateway } from './helpers';

function trust(value: unknown) {
  const problems: string[] = [];
  const compiled = compileTrustProxy(value, problems);
  expect(problems).toEqual([]);
  return compiled;
}

describe('clientAddress', () => {
  it('ignores the header when the socket peer is not a trusted proxy', () => {
    const t = trust(['10.0.0.0/8']);
    expect(clientAddress('198.51.100.9', '1.2.3.4', t)).toBe('198.51.100.9');
    expect(clientAddress('198.51.100.9', '1.2.3.4', trust(false))).toBe('198.51.100.9');
  });

  it('takes the right-most address that is not a trusted proxy', () => {
    const t = trust('10.0.0.0/8, 192.168.0.0/16');
    // A client behind nginx ($proxy_add_x_forwarded_for) put "6.6.6.6" there itself.
    expect(clientAddress('10.0.0.5', '6.6.6.6, 203.0.113.7', t)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.5', '6.6.6.6, 203.0.113.7, 192.168.1.1', t)).toBe('203.0.113.7');
    // Every hop trusted: the left-most is the client.
    expect(clientAddress('10.0.0.5', '10.1.1.1, 10.2.2.2', t)).toBe('10.1.1.1');
    // Two header lines count as one list.
    expect(clientAddress('10.0.0.5', ['6.6.6.6', '203.0.113.8'], t)).toBe('203.0.113.8');
  });

  it('trusts exactly n hops with a hop count', () => {
    expect(clientAddress('10.0.0.5', '1.1.1.1, 2.2.2.2, 3.3.3.3', trust(1))).toBe('3.3.3.3');
    expect(clientAddress('10.0.0.5', '1.1.1.1, 2.2.2.2, 3.3.3.3', trust(2))).toBe('2.2.2.2');
    expect(clientAddress('10.0.0.5', '1.1.1.1, 2.2.2.2, 3.3.3.3', trust(9))).toBe('1.1.1.1');
    expect(clientAddress('10.0.0.5', '1.1.1.1', trust(0))).toBe('10.0.0.5');
  });

  it('matches IPv6 ranges and IPv4-mapped peers', () => {
    const t = trust(['fd00::/8', '127.0.0.1/8']);
    expect(clientAddress('fd00::1', '2001:db8::7', t)).toBe('2001:db8::7');
    expect(clientAddress('::ffff:127.0.0.1', '203.0.113.7', t)).toBe('203.0.113.7');
    expect(clientAddress('fe00::1', '203.0.113.7', t)).toBe('fe00::1');
  });

  it('never takes a word that is not an IP address: the walk ends at the proxy that wrote it', () => {
    const t = trust('loopback');
    expect(clientAddress('127.0.0.1', 'evil, 203.0.113.7', t)).toBe('203.0.113.7');
    expect(clientAddress('127.0.0.1', '203.0.113.7, unknown', t)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '', t)).toBe('127.0.0.1');
  });

  it('true is the deprecated alias of loopback: no longer the left-most entry from anyone', () => {
    const t = trust(true);
    expect(clientAddress('127.0.0.1', '6.6.6.6, 203.0.113.7', t)).toBe('203.0.113.7');
    expect(clientAddress('198.51.100.9', '6.6.6.6', t)).toBe('198.51.100.9');
  });

  it('reports every bad entry in one ConfigError', () => {
    const bad: GatewayOptions = { trustProxy: ['10.0.0.0/33', 'proxy.local', '::1/129'] };
    expect(() => new WebSocketGateway(bad)).toThrow(ConfigError);
    try {
      new WebSocketGateway(bad);
    } catch (error) {
      expect((error as ConfigError).problems.filter((p) => p.startsWith('trustProxy has'))).toHaveLength(3);
    }
    expect(() => new WebSocketGateway({ trustProxy: -1 })).toThrow(/trustProxy is -1/);
  });
});

describe('trustProxy end to end', () => {
  async function addressOf(gw: WebSocketGateway, c: TestClient): Promise<string> {
    const welcome = await c.welcome();
    return gw.getSession((welcome.data as { session_id: string }).session_id)!.remoteAddress;
  }

  it('a spoofed X-Forwarded-For from an untrusted peer is ignored', async () => {
    const { gw, url } = await startTestGateway({ trustProxy: ['127.0.0.2'] });
    const c = await TestClient.open(url, {
      localAddress: '127.0.0.3',
      headers: { 'X-Forwarded-For': '203.0.113.7' },
    });
    expect(await addressOf(gw, c)).toBe('127.0.0.3');
  });

  it('behind a trusted proxy, the right-most untrusted address is the client', async () => {
    const { gw, url } = await startTestGateway({ trustProxy: ['127.0.0.2'] });
    const c = await TestClient.open(url, {
      localAddress: '127.0.0.2',
      headers: { 'X-Forwarded-For': '6.6.6.6, 203.0.113.7' },
    });
    expect(await addressOf(gw, c)).toBe('203.0.113.7');
  });

  it('with a hop count of 2, the second address from the right is the client', async () => {
    const { gw, url } = await startTestGateway({ trustProxy: 2 });
    const c = await TestClient.open(url, {
      localAddress: '127.0.0.2',
      headers: { 'X-Forwarded-For': '1.1.1.1, 2.2.2.2, 3.3.3.3' },
    });
    expect(await addressOf(gw, c)).toBe('2.2.2.2');
  });
});

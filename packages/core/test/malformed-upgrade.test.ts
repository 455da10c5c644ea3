import { createServer } from 'node:http';
import { onCleanup, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { silentLogger, WebSocketGateway } from '../src/index';
import { startTestGateway } from './helpers';
import { bodyOf, rawExchange, upgradeRequest } from './raw-http';

/** Records unhandled rejections while a test runs. */
function watchUnhandled(): unknown[] {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  onCleanup(() => {
    process.off('unhandledRejection', listener);
  });
  return seen;
}

/** A gateway attached to a plain Node server, as an application embeds it. */
async function startEmbedded(): Promise<{ port: number; url: string; gw: WebSocketGateway }> {
  const server = createServer((_req, res) => res.end('app'));
  const gw = new WebSocketGateway({ server, logger: silentLogger });
  await gw.start();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    await gw.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as { port: number }).port;
  return { port, url: `ws://127.0.0.1:${port}/ws`, gw };
}

const NOT_A_URL = {
  error: { code: 'bad_request', message: 'the request target is not a valid URL' },
};

describe('malformed upgrade requests', () => {
  const targets: [string, string][] = [
    ['// (an empty authority)', '//'],
    ['//x:99999 (a port out of range)', '//x:99999'],
    ['http://[ (an unclosed IPv6 host)', 'http://['],
    ['an 8 KB target with a bad port', `//${'x'.repeat(8000)}:99999`],
  ];

  for (const [embedded, start] of [
    ['embedded in a plain Node server', startEmbedded],
    ['on its own server', startTestGateway],
  ] as const) {
    it.each(targets)(`${embedded}: %s gets 400 and the socket is closed`, async (_what, target) => {
      const unhandled = watchUnhandled();
      const { port, url } = await start();
      const answer = await rawExchange(port, upgradeRequest(target));
      expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
      expect(bodyOf(answer)).toEqual(NOT_A_URL);
      expect(answer.closedByServer).toBe(true);
      // The process lives on and the gateway still serves.
      await (await TestClient.open(url)).welcome();
      expect(unhandled).toEqual([]);
    });
  }

  it('a bad percent-encoding in the tenant segment gets 400 invalid_tenant, and the socket is closed', async () => {
    const unhandled = watchUnhandled();
    const { port } = await startEmbedded();
    const answer = await rawExchange(port, upgradeRequest('/ws/tenant/%E0%A4%A'));
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(bodyOf(answer)).toEqual({
      error: { code: 'invalid_tenant', message: 'the tenant id in the path is not valid percent-encoding' },
    });
    expect(answer.closedByServer).toBe(true);
    expect(unhandled).toEqual([]);
  });

  it('an 8 KB tenant segment gets 400 invalid_tenant', async () => {
    const { port } = await startEmbedded();
    const answer = await rawExchange(port, upgradeRequest(`/ws/tenant/${'a'.repeat(8000)}`));
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect((bodyOf(answer) as { error: { code: string } }).error.code).toBe('invalid_tenant');
    expect(answer.closedByServer).toBe(true);
  });

  it("a target over Node's header limit is answered 431 by Node and closed; the gateway serves on", async () => {
    const unhandled = watchUnhandled();
    const { port, url } = await startEmbedded();
    const answer = await rawExchange(port, upgradeRequest(`//${'x'.repeat(20_000)}`));
    expect(answer.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(answer.closedByServer).toBe(true);
    await (await TestClient.open(url)).welcome();
    expect(unhandled).toEqual([]);
  });
});

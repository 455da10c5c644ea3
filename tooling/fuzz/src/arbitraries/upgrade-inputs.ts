import fc from 'fast-check';
import { ALLOWED_ORIGINS } from '../gateway-under-test';
import type { RawRequest } from '../raw-request';
import { SAMPLE_WEBSOCKET_KEY } from '../ws-frame';
import {
  authorization,
  extraHeader,
  forwardedFor,
  headerList,
  headerSlot,
  headerValue,
  host,
  malformedLine,
  maybe,
  mostly,
  pacing,
} from './request-parts';
import { tenantIdText, tokenText } from './tokens';

/** Request targets: the endpoint, tenant paths, and what `new URL()` or a router may choke on. */
export const upgradeTarget: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('/ws', '/ws/tenant/acme', '/ws?tenant=globex') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '/ws',
      '/ws/',
      '/ws/tenant/acme',
      '/ws?tenant=acme',
      '/ws/tenant/acme/extra',
      '/WS',
      '/ws/tenant/',
      '/ws/tenant',
      '/ws?a=1&a=2&tenant=acme&tenant=globex',
      '/ws?tenant=acme&token=',
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '//',
      '//ws',
      '///ws',
      '//evil.example/ws',
      '/%zz',
      '/ws/%zz',
      '/ws/tenant/%zz',
      '/ws?%zz',
      '/ws?tenant=%zz',
      '/ws/tenant/%00',
      '/ws/tenant/..',
      '/ws/..%2f..',
      '/ws#frag',
      '*',
      '%',
      'ws',
      'http://127.0.0.1/ws',
      'http://[::1]/ws',
      'https://evil.example/ws',
      'ws://x/ws',
      'http:',
      'http://',
      '/ws\\x',
      '/ws/tenant/é',
      '/ws?token=%E0%A4%A',
    ),
  },
  { weight: 1, arbitrary: tenantIdText.map((t) => `/ws/tenant/${t}`) },
  { weight: 1, arbitrary: tokenText.map((t) => `/ws?token=${encodeURIComponent(t)}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n) => `/ws?${'a'.repeat(n)}`) },
  { weight: 1, arbitrary: fc.webPath() },
  { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => `/${s.replace(/[\s]/g, '')}`) },
);

/** Inputs of the `upgrade` target: WebSocket handshakes, most of them almost right. */
export const upgradeInput: fc.Arbitrary<RawRequest> = fc
  .record({
    pacing,
    method: fc.oneof(
      { weight: 40, arbitrary: fc.constant('GET') },
      {
        weight: 4,
        arbitrary: fc.constantFrom('POST', 'HEAD', 'OPTIONS', 'get', 'CONNECT', 'PRI', 'G\u00c9T', ''),
      },
      // Random bytes where the request line starts: the rest of the request follows them.
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    ),
    target: upgradeTarget,
    version: mostly(
      'HTTP/1.1',
      fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.10', ''),
      10,
    ),
    host: headerSlot(host),
    upgrade: headerSlot(
      mostly('websocket', fc.constantFrom('WebSocket', 'websocket, h2c', 'h2c', '', 'websocket\u0000')),
    ),
    connection: headerSlot(
      mostly('Upgrade', fc.constantFrom('keep-alive, Upgrade', 'close', 'upgrade,upgrade', '')),
    ),
    key: headerSlot(
      mostly(
        SAMPLE_WEBSOCKET_KEY,
        fc.constantFrom('', 'short', `dGhl${'A'.repeat(40)}`, '!!!!!!!!!!!!!!!!!!!!!!=='),
      ),
    ),
    wsVersion: headerSlot(mostly('13', fc.constantFrom('8', '13, 8', 'abc', '', '013'))),
    protocol: maybe(
      fc.oneof(
        fc.constantFrom('dotmac.v1', 'x,,y', ' , ', 'dotmac.v1+msgpack', 'dotmac.v1, dotmac.v1'),
        tokenText.map((t) => `dotmac.v1, bearer.${t.replace(/[^\x21-\x7e]/g, '')}`),
      ),
      2,
    ),
    extensions: maybe(
      fc.constantFrom(
        'permessage-deflate',
        'permessage-deflate; client_max_window_bits',
        'permessage-deflate; client_max_window_bits=99',
        'permessage-deflate; server_no_context_takeover=1',
        'x; y, z',
        ';;;',
      ),
      3,
    ),
    forwardedFor: maybe(
      fc.oneof(
        forwardedFor,
        fc.tuple(forwardedFor, forwardedFor).map((xs) => xs.join(', ')),
      ),
      1,
    ),
    tenant: maybe(fc.oneof(tenantIdText, headerValue), 2),
    origin: maybe(
      fc.oneof(
        fc.constantFrom(...ALLOWED_ORIGINS, 'null', 'http://evil.example', 'http://127.0.0.1:1'),
        headerValue,
      ),
      2,
    ),
    authorization: maybe(authorization, 2),
    extra: fc.array(extraHeader, { maxLength: 3 }),
    rawLines: fc.oneof(
      { weight: 5, arbitrary: fc.constant<string[]>([]) },
      { weight: 1, arbitrary: fc.array(malformedLine, { maxLength: 2 }) },
    ),
  })
  .map((r) => ({
    ...r.pacing,
    method: r.method,
    target: r.target,
    version: r.version,
    headers: [
      ...headerList([
        ['Host', r.host],
        ['Upgrade', r.upgrade],
        ['Connection', r.connection],
        ['Sec-WebSocket-Key', r.key],
        ['Sec-WebSocket-Version', r.wsVersion],
        ['Sec-WebSocket-Protocol', r.protocol],
        ['Sec-WebSocket-Extensions', r.extensions],
        ['X-Forwarded-For', r.forwardedFor],
        ['X-Tenant-ID', r.tenant],
        ['Origin', r.origin],
        ['Authorization', r.authorization],
      ]),
      ...r.extra,
    ],
    rawLines: r.rawLines,
    body: '',
  }));

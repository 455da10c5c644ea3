import fc from 'fast-check';
import { API_KEY } from '../gateway-under-test';
import type { RawRequest } from '../raw-request';
import {
  brokenJsonText,
  deepArrayText,
  deepNestingText,
  jsonText,
  keyText,
  PROTO_KEY_TEXTS,
  stringText,
} from './hostile-json';
import {
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
import { tenantIdText } from './tokens';

/** How the body's length is told: right, chunked, missing, both, or wrong. */
export type BodyFraming = 'length' | 'chunked' | 'none' | 'length+chunked' | 'short-length' | 'long-length';

const eventTypeText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('"message"', '"news.update"', '"a:b@c/d"') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '"welcome"',
      '"error"',
      '"pong"',
      '""',
      `"${'t'.repeat(101)}"`,
      '1',
      'null',
      '"a b"',
      '"__proto__"',
    ),
  },
  { weight: 1, arbitrary: stringText },
);

const targetMember = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '"channel":"news"',
      '"channel":"room:1"',
      '"tenant_id":"acme"',
      '"user_id":"alice"',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('"role":"admin"', '"permission":"read"', '"tenant_id":"globex"') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '"channel":""',
      `"channel":"${'c'.repeat(201)}"`,
      '"channel":"tenant:globex:news"',
      '"channel":1',
      '"user_id":""',
      '"user_id":[]',
      '"tenant_id":"a:b"',
      '"role":null',
    ),
  },
  { weight: 1, arbitrary: tenantIdText.map((t) => `"tenant_id":${JSON.stringify(t)}`) },
);

const publishDataText = fc.oneof(
  { weight: 4, arbitrary: jsonText },
  { weight: 2, arbitrary: deepNestingText },
  { weight: 1, arbitrary: deepArrayText(120_000) },
);

/** `POST /api/publish` bodies: protocol-shaped with hostile types, targets, data and prototype keys. */
export const publishBodyText: fc.Arbitrary<string> = fc
  .record({
    type: fc.option(eventTypeText, { freq: 8, nil: null }),
    targets: fc.array(targetMember, { maxLength: 3 }),
    data: fc.option(publishDataText, { freq: 8, nil: null }),
    extra: fc.array(
      fc.oneof(
        fc.constantFrom(...PROTO_KEY_TEXTS).map((k) => `${k}:{"channel":"admin","type":"x"}`),
        fc.tuple(keyText, jsonText).map(([k, v]) => `${k}:${v}`),
      ),
      { maxLength: 2 },
    ),
  })
  .map((b) => {
    const members = [...b.targets, ...b.extra];
    if (b.type !== null) members.unshift(`"type":${b.type}`);
    if (b.data !== null) members.push(`"data":${b.data}`);
    return `{${members.join(',')}}`;
  });

const hugeBody = fc.oneof(
  fc
    .integer({ min: 900_000, max: 1_200_000 })
    .map((n) => `{"type":"m","channel":"news","data":"${'x'.repeat(n)}"}`),
  fc
    .integer({ min: 100_000, max: 520_000 })
    .map((n) => `{"type":"m","channel":"news","data":[${'0,'.repeat(n)}0]}`),
);

/** Bodies: mostly publish-shaped, else any JSON, deep, broken, binary-ish, huge or empty. */
export const httpBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: publishBodyText },
  { weight: 1, arbitrary: jsonText },
  { weight: 1, arbitrary: brokenJsonText },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: hugeBody },
  { weight: 1, arbitrary: fc.constant('') },
);

const apiPath: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('/api/publish') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '/api/stats',
      '/health',
      '/ready',
      '/metrics',
      '/demo',
      '/api/publish?x=1',
      '/api/publish/',
      '/API/PUBLISH',
      '//api/publish',
      '/api/%zz',
      '/api/publish%00',
      '/api/unknown',
      '/api/broadcast',
      '/api/info',
      '/',
      '*',
      'http://127.0.0.1/api/publish',
      '/api/publish#x',
      '/health?verbose=1',
    ),
  },
  { weight: 1, arbitrary: fc.webPath() },
);

/** Inputs of the `http` target: HTTP API and health requests, bodies and headers of every kind. */
export const httpInput: fc.Arbitrary<RawRequest> = fc
  .record({
    pacing,
    method: mostly(
      'POST',
      fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'post', 'FOO'),
      3,
    ),
    path: apiPath,
    version: mostly('HTTP/1.1', fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.10'), 12),
    host: headerSlot(host),
    authorization: headerSlot(
      mostly(
        `Bearer ${API_KEY}`,
        fc.oneof(
          fc.constantFrom(
            'Bearer wrong',
            'Bearer',
            `bearer ${API_KEY}`,
            `Bearer  ${API_KEY}  `,
            'Basic YTpi',
            API_KEY,
            `Bearer ${API_KEY}x`,
            `Bearer ${'k'.repeat(10_000)}`,
          ),
          headerValue,
        ),
        4,
      ),
    ),
    contentType: headerSlot(
      mostly(
        'application/json',
        fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
          '',
          'application/json, text/plain',
        ),
        4,
      ),
    ),
    connection: mostly<string | null>('close', fc.constantFrom('keep-alive', null), 3),
    expect: maybe(fc.constant('100-continue'), 8),
    forwardedFor: maybe(forwardedFor, 3),
    body: httpBody,
    framing: mostly<BodyFraming>(
      'length',
      fc.constantFrom<BodyFraming>('chunked', 'none', 'length+chunked', 'short-length', 'long-length'),
      6,
    ),
    chunkSize: fc.integer({ min: 1, max: 70_000 }),
    extra: fc.array(extraHeader, { maxLength: 2 }),
    rawLines: fc.oneof(
      { weight: 8, arbitrary: fc.constant<string[]>([]) },
      { weight: 1, arbitrary: fc.array(malformedLine, { maxLength: 2 }) },
    ),
  })
  .map((r): RawRequest => {
    const length = Buffer.byteLength(r.body);
    const framingHeaders: [string, string][] = [];
    let body: string | Uint8Array = r.body;
    let cut = r.pacing.cut;
    if (r.framing === 'length' || r.framing === 'length+chunked')
      framingHeaders.push(['Content-Length', String(length)]);
    if (r.framing === 'short-length') framingHeaders.push(['Content-Length', String(Math.floor(length / 2))]);
    if (r.framing === 'long-length') {
      // The server waits for bytes that never come: the client half-closes after the body.
      framingHeaders.push(['Content-Length', String(length + 10)]);
      cut ??= 0.999_999_9;
    }
    if (r.framing === 'chunked' || r.framing === 'length+chunked') {
      framingHeaders.push(['Transfer-Encoding', 'chunked']);
      const bytes = Buffer.from(r.body);
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += r.chunkSize) {
        const piece = bytes.subarray(at, at + r.chunkSize);
        chunks.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
      }
      body = Buffer.concat([...chunks, Buffer.from('0\r\n\r\n')]);
    }
    return {
      ...r.pacing,
      cut,
      method: r.method,
      target: r.path,
      version: r.version,
      headers: [
        ...headerList([
          ['Host', r.host],
          ['Authorization', r.authorization],
          ['Content-Type', r.contentType],
          ['Connection', r.connection],
          ['Expect', r.expect],
          ['X-Forwarded-For', r.forwardedFor],
        ]),
        ...framingHeaders,
        ...r.extra,
      ],
      rawLines: r.rawLines,
      body,
    };
  });

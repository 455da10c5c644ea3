import fc from 'fast-check';
import { MAX_MESSAGE_BYTES } from '../gateway-under-test';
import {
  brokenJsonText,
  deepArrayText,
  deepNestingText,
  jsonText,
  keyText,
  PROTO_KEY_TEXTS,
  stringText,
} from './hostile-json';
import { tenantIdText, tokenText } from './tokens';

/** One thing the fuzzer sends on an open WebSocket connection. */
export type FuzzMessage =
  /** A text frame holding this text (JSON, near-JSON or not). */
  | { kind: 'text'; text: string }
  /** Several text frames that belong together (subscribe, then publish to that channel). */
  | { kind: 'texts'; texts: string[] }
  /** A text frame holding these bytes (often invalid UTF-8). */
  | { kind: 'text-bytes'; bytes: Uint8Array }
  | { kind: 'binary'; bytes: Uint8Array }
  /** A valid message split into `parts` frames, with a ping between two of them when asked. */
  | { kind: 'fragmented'; text: string; parts: number; pingBetween: boolean }
  | { kind: 'control'; opcode: 0x9 | 0xa; payload: Uint8Array }
  | { kind: 'close'; code: number | null; reason: string }
  /** A real payload `extra` bytes over the limit. */
  | { kind: 'oversized'; extra: number }
  /** A header announcing `length` bytes (over the limit) and no payload. */
  | { kind: 'declared-huge'; length: number }
  /** A frame that breaks RFC 6455 (reserved opcode or bits, unmasked, long or fragmented control…). */
  | {
      kind: 'bad-frame';
      fin: boolean;
      rsv: number;
      opcode: number;
      masked: boolean;
      payload: Uint8Array;
      followedBy: 'nothing' | 'text' | 'continuation';
    }
  /** `count` copies of one frame at once: past the burst, rate_limited and then 4429. */
  | { kind: 'flood'; text: string; count: number };

/** How the fuzzer's session is opened. */
export interface SessionSpec {
  path: string;
  /** A token at the handshake, and where. */
  token: { text: string; via: 'header' | 'query' | 'protocol' } | null;
  subprotocol: boolean;
}

/** One input of the `frames` target. */
export interface FramesInput {
  session: SessionSpec;
  messages: FuzzMessage[];
  /** Random bytes written last, after which the client half-closes (no sentinel ping). */
  trailingBytes: Uint8Array | null;
  /** The written bytes are cut into this many TCP writes. */
  writes: number;
  /** Pause between writes. */
  delayMs: number;
}

const idText = fc.oneof(
  fc.constantFrom(
    '1',
    '0',
    '-0',
    '-1',
    '1.5',
    '1e309',
    '18446744073709551616',
    '9007199254740993',
    'null',
    'true',
    '[]',
    '{}',
    '""',
    `"${'i'.repeat(5000)}"`,
  ),
  fc.integer().map(String),
  stringText,
);

const channelText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('"news"', '"room:1"', '"a.b-c_d@e/f=g"', `"${'c'.repeat(200)}"`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '""',
      `"${'c'.repeat(201)}"`,
      '"bad channel"',
      '"tenant:globex:news"',
      '"*"',
      '">"',
      '"a.*.>"',
      '"news\\u0000"',
      '"__proto__"',
      '1',
      'null',
      '["news"]',
      '{"channel":"news"}',
    ),
  },
  { weight: 1, arbitrary: stringText },
);

const TYPES = [
  'auth',
  'subscribe',
  'unsubscribe',
  'publish',
  'ping',
  'echo',
  'history',
  'presence',
  'presence_stats',
  'welcome',
  'ack',
  'error',
  'pong',
  'message',
  '__proto__',
  'constructor',
  'toString',
] as const;

const typeText = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...TYPES).map((t) => JSON.stringify(t)) },
  { weight: 1, arbitrary: fc.constantFrom('null', '1', '[]', '{}', '"PING"', '"ping "', '""') },
  { weight: 1, arbitrary: stringText },
);

const dataText = fc.oneof(
  { weight: 4, arbitrary: jsonText },
  { weight: 1, arbitrary: deepNestingText },
  { weight: 2, arbitrary: tokenText.map((t) => `{"token":${JSON.stringify(t)}}`) },
  { weight: 2, arbitrary: channelText.map((c) => `{"channel":${c}}`) },
  {
    weight: 1,
    arbitrary: fc
      .record({ channel: channelText, offset: idText, epoch: stringText })
      .map((s) => `{"channel":${s.channel},"since":{"offset":${s.offset},"epoch":${s.epoch}}}`),
  },
);

const memberText = fc.oneof(
  { weight: 3, arbitrary: idText.map((v) => `"id":${v}`) },
  { weight: 3, arbitrary: channelText.map((v) => `"channel":${v}`) },
  { weight: 4, arbitrary: dataText.map((v) => `"data":${v}`) },
  { weight: 1, arbitrary: stringText.map((v) => `"event":${v}`) },
  { weight: 1, arbitrary: idText.map((v) => `"offset":${v}`) },
  { weight: 1, arbitrary: stringText.map((v) => `"idempotency_key":${v}`) },
  { weight: 1, arbitrary: idText.map((v) => `"limit":${v}`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...PROTO_KEY_TEXTS), jsonText)
      .map(([k]) => `${k}:{"type":"admin","roles":["admin"]}`),
  },
  { weight: 1, arbitrary: fc.tuple(keyText, jsonText).map(([k, v]) => `${k}:${v}`) },
);

/** A frame shaped like the protocol's (a known type, then ids, channels and data of every kind). */
export const protocolFrameText: fc.Arbitrary<string> = fc
  .tuple(fc.option(typeText, { freq: 8, nil: null }), fc.array(memberText, { maxLength: 5 }), fc.boolean())
  .map(([type, members, typeLast]) => {
    const all =
      type === null ? members : typeLast ? [...members, `"type":${type}`] : [`"type":${type}`, ...members];
    return `{${all.join(',')}}`;
  });

/** Text that a text frame may carry: protocol-shaped mostly, else any JSON or broken JSON. */
export const frameText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: protocolFrameText },
  { weight: 1, arbitrary: jsonText },
  { weight: 1, arbitrary: brokenJsonText },
);

const bytes = (max: number) => fc.uint8Array({ maxLength: max });

/** Text bytes that are invalid UTF-8 (or valid but odd), the way a broken client sends them. */
const badUtf8 = fc.oneof(
  fc.constantFrom(
    Uint8Array.from([0xff]),
    Uint8Array.from([0xc0, 0x80]),
    Uint8Array.from([0xed, 0xa0, 0x80]),
    Uint8Array.from([0xf4, 0x90, 0x80, 0x80]),
    Uint8Array.from([0x7b, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0x22, 0x7d]),
  ),
  bytes(64),
);

/** Subscribe to a channel, then publish hostile data (deep nesting included) to it, so that it is delivered. */
const subscribeThenPublish: fc.Arbitrary<FuzzMessage> = fc
  .record({
    channel: fc.constantFrom('"news"', '"room:1"', '"a.b-c_d@e/f=g"'),
    data: fc.oneof(
      { weight: 2, arbitrary: jsonText },
      { weight: 1, arbitrary: stringText },
      { weight: 1, arbitrary: deepNestingText },
      { weight: 2, arbitrary: deepArrayText(MAX_MESSAGE_BYTES / 2 - 64) },
    ),
    event: fc.option(stringText, { freq: 4, nil: null }),
    id: fc.option(idText, { freq: 2, nil: null }),
  })
  .map(({ channel, data, event, id }) => ({
    kind: 'texts' as const,
    texts: [
      `{"type":"subscribe","channel":${channel}}`,
      `{"type":"publish","channel":${channel}${id === null ? '' : `,"id":${id}`}${event === null ? '' : `,"event":${event}`},"data":${data}}`,
    ],
  }));

/** Messages a session survives (or is refused for one by one): the body of an input. */
const message: fc.Arbitrary<FuzzMessage> = fc.oneof(
  { weight: 16, arbitrary: frameText.map((text) => ({ kind: 'text' as const, text })) },
  { weight: 3, arbitrary: subscribeThenPublish },
  { weight: 1, arbitrary: badUtf8.map((b) => ({ kind: 'text-bytes' as const, bytes: b })) },
  { weight: 1, arbitrary: bytes(256).map((b) => ({ kind: 'binary' as const, bytes: b })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ text: protocolFrameText, parts: fc.integer({ min: 2, max: 6 }), pingBetween: fc.boolean() })
      .map((r) => ({ kind: 'fragmented' as const, ...r })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ opcode: fc.constantFrom(0x9 as const, 0xa as const), payload: bytes(125) })
      .map((r) => ({ kind: 'control' as const, ...r })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ text: frameText, count: fc.integer({ min: 15, max: 60 }) })
      .map((r) => ({ kind: 'flood' as const, ...r })),
  },
);

/** Messages after which the server must close: the optional end of an input. */
const ender: fc.Arbitrary<FuzzMessage> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc
      .record({
        code: fc.option(
          fc.constantFrom(1000, 1001, 1002, 1004, 1005, 1006, 1015, 2999, 3000, 4999, 5000, 999),
          {
            nil: null,
          },
        ),
        reason: fc.string({ maxLength: 60 }),
      })
      .map((r) => ({ kind: 'close' as const, ...r })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: MAX_MESSAGE_BYTES })
      .map((extra) => ({ kind: 'oversized' as const, extra })),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.integer({ min: MAX_MESSAGE_BYTES + 1, max: 2 ** 31 }),
        fc.constantFrom(2 ** 53, 2 ** 53 + 2, 2 ** 63),
      )
      .map((length) => ({ kind: 'declared-huge' as const, length })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        fin: fc.boolean(),
        rsv: fc.integer({ min: 0, max: 7 }),
        opcode: fc.oneof(fc.integer({ min: 0, max: 15 }), fc.constantFrom(0x3, 0xb, 0x0)),
        masked: fc.boolean(),
        payload: fc.oneof(
          bytes(40),
          fc.integer({ min: 126, max: 300 }).map((n) => new Uint8Array(n)),
        ),
        followedBy: fc.constantFrom('nothing' as const, 'text' as const, 'continuation' as const),
      })
      .filter((f) => !(f.fin && f.rsv === 0 && f.masked && f.opcode <= 2 && f.payload.length < 126))
      .map((f) => ({ kind: 'bad-frame' as const, ...f })),
  },
);

const sessionSpec: fc.Arbitrary<SessionSpec> = fc.record({
  path: fc.oneof(
    { weight: 4, arbitrary: fc.constant('/ws') },
    { weight: 2, arbitrary: tenantIdText.map((t) => `/ws/tenant/${encodeURIComponent(t)}`) },
    { weight: 1, arbitrary: tenantIdText.map((t) => `/ws?tenant=${encodeURIComponent(t)}`) },
  ),
  token: fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.record({
        text: tokenText.map((t) => t.replace(/[^\x21-\x7e]/g, '')),
        via: fc.constantFrom('header' as const, 'query' as const, 'protocol' as const),
      }),
    },
  ),
  subprotocol: fc.boolean(),
});

/**
 * Inputs of the `frames` target: a session, 1-6 messages, then sometimes one the server must
 * close for, or random bytes.
 */
export const framesInput: fc.Arbitrary<FramesInput> = fc
  .record({
    body: fc.array(message, { minLength: 1, maxLength: 6 }),
    session: sessionSpec,
    end: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: ender }),
    trailingBytes: fc.oneof(
      { weight: 9, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: bytes(200) },
    ),
    writes: fc.integer({ min: 1, max: 4 }),
    delayMs: fc.constantFrom(0, 0, 0, 5, 30),
  })
  .map(({ body, end, ...rest }) => ({ messages: end === null ? body : [...body, end], ...rest }));

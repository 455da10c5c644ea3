import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it, vi } from 'vitest';
import {
  type BroadcastTarget,
  decodeEnvelope,
  type EnvelopeHeader,
  encodeEnvelope,
  MemoryBackend,
  MemoryBus,
} from '../src/index';
import { startTestGateway } from './helpers';

const header: EnvelopeHeader = {
  v: 1,
  origin: 'n1',
  ts: 1,
  target: { kind: 'channel', channel: 'news', name: 'news' },
  type: 'headline',
};
const frame = Buffer.from('{"type":"headline","channel":"news","data":1}');

describe('broadcast envelope encoding', () => {
  it('writes the header as JSON.stringify does, then a newline, then the frame', () => {
    const headers: EnvelopeHeader[] = [
      header,
      {
        v: 1,
        origin: 'nø "1"',
        ts: 1733100000123,
        target: { kind: 'user', userId: 'u\\1', tenantId: null },
        type: 'dm',
      },
      { v: 1, origin: 'n', ts: 2, target: { kind: 'all' }, type: 'x', traceparent: '00-abc-def-01' },
      {
        v: 1,
        origin: 'n',
        ts: 3,
        target: { kind: 'channel', channel: 't:a:c', name: 'c' },
        type: 'm',
        fh: 12,
      },
    ];
    for (const h of headers) {
      const encoded = encodeEnvelope(h, frame);
      expect(encoded.toString()).toBe(`${JSON.stringify(h)}\n${frame.toString()}`);
      expect(decodeEnvelope(encoded).header).toEqual(h);
    }
  });

  it('writes a plain channel or user header without JSON.stringify, as JSON.stringify writes it', () => {
    const targets: BroadcastTarget[] = [
      { kind: 'channel', channel: 't:acme:room-1', name: 'room-1' },
      { kind: 'channel', channel: '', name: '' },
      { kind: 'user', userId: 'u 1', tenantId: null },
      { kind: 'user', userId: 'u1', tenantId: 'acme' },
    ];
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      for (const target of targets) {
        const h: EnvelopeHeader = { v: 1, origin: 'node-7f3a', ts: 1733100000123, target, type: 'message' };
        stringify.mockClear();
        const encoded = encodeEnvelope(h, frame);
        expect(stringify).not.toHaveBeenCalled();
        expect(encoded.toString()).toBe(`${JSON.stringify(h)}\n${frame.toString()}`);
      }
    } finally {
      stringify.mockRestore();
    }
  });

  it('writes a target given with its keys in another order as the same JSON', () => {
    const targets: BroadcastTarget[] = [
      { tenantId: 'acme', userId: 'u1', kind: 'user' },
      { name: 'c', channel: 't:acme:c', kind: 'channel' },
    ];
    for (const target of targets) {
      const h: EnvelopeHeader = { v: 1, origin: 'n1', ts: 9, target, type: 'm' };
      expect(decodeEnvelope(encodeEnvelope(h, frame)).header).toEqual(h);
    }
  });

  it('writes a timestamp that is not a safe integer as JSON.stringify does', () => {
    for (const ts of [1.5, Number.NaN, 2 ** 60]) {
      const h: EnvelopeHeader = { ...header, ts };
      expect(encodeEnvelope(h, frame).toString()).toBe(`${JSON.stringify(h)}\n${frame.toString()}`);
    }
  });
});

describe('broadcast envelope decoding', () => {
  it('reads plain channel and user headers without JSON.parse, as JSON.parse reads them', () => {
    const pick = (i: number, xs: readonly string[]) => xs[i % xs.length]!;
    const texts = [
      '',
      'a',
      'news',
      't:acme:room-1',
      'nø',
      '日本',
      'é"q"',
      'back\\slash',
      'tab\there',
      'ctl\u0001',
      '🎉',
      ' sp ',
    ];
    const parse = vi.spyOn(JSON, 'parse');
    let fast = 0;
    try {
      for (let i = 0; i < 1000; i++) {
        const target: BroadcastTarget =
          i % 3 === 0
            ? { kind: 'user', userId: pick(i, texts), tenantId: i % 2 === 0 ? null : pick(i + 3, texts) }
            : { kind: 'channel', channel: pick(i + 1, texts), name: pick(i + 2, texts) };
        const h: EnvelopeHeader = {
          v: 1,
          origin: pick(i + 5, texts),
          ts: [0, 7, 1733100000123, 999999999999999][i % 4]!,
          target,
          type: pick(i + 7, texts),
        };
        const encoded = encodeEnvelope(h, frame);
        const head = encoded.toString('utf8', 0, encoded.indexOf(0x0a));
        // Written by hand or by JSON.stringify, the text is the same.
        expect(head).toBe(JSON.stringify(h));
        parse.mockClear();
        const decoded = decodeEnvelope(encoded);
        const parsed = parse.mock.calls.length > 0;
        // The fast path is taken unless a string needed an escape.
        if (!head.includes('\\')) {
          expect(parsed).toBe(false);
          fast++;
        }
        expect(decoded.header).toEqual(JSON.parse(head));
        expect(decoded.frame.equals(frame)).toBe(true);
      }
    } finally {
      parse.mockRestore();
    }
    expect(fast).toBeGreaterThan(50);
  });

  it.each([
    [
      'a leading zero in ts',
      '{"v":1,"origin":"n","ts":01,"target":{"kind":"channel","channel":"c","name":"c"},"type":"m"}',
    ],
    [
      'text after the header',
      '{"v":1,"origin":"n","ts":1,"target":{"kind":"channel","channel":"c","name":"c"},"type":"m"}x',
    ],
    [
      'a raw control character',
      '{"v":1,"origin":"n\u0001","ts":1,"target":{"kind":"channel","channel":"c","name":"c"},"type":"m"}'.replace(
        '\\u0001',
        '\u0001',
      ),
    ],
    ['no ts', '{"v":1,"origin":"n","ts":,"target":{"kind":"channel","channel":"c","name":"c"},"type":"m"}'],
    [
      'an unterminated string',
      '{"v":1,"origin":"n","ts":1,"target":{"kind":"channel","channel":"c","name":"c"},"type":"m}',
    ],
  ])('refuses what JSON.parse refuses: %s', (_name, head) => {
    expect(() => JSON.parse(head)).toThrow();
    expect(() => decodeEnvelope(Buffer.from(`${head}\n{}`))).toThrow();
  });

  it('reads other layouts of a valid header through JSON.parse', () => {
    const spaced =
      '{ "v": 1, "origin": "n", "ts": 5, "target": {"kind": "channel", "channel": "c", "name": "c"}, "type": "m" }';
    const reordered =
      '{"v":1,"origin":"n","ts":5,"target":{"channel":"c","kind":"channel","name":"c"},"type":"m"}';
    const negative =
      '{"v":1,"origin":"n","ts":-1,"target":{"kind":"channel","channel":"c","name":"c"},"type":"m"}';
    for (const head of [spaced, reordered, negative]) {
      expect(decodeEnvelope(Buffer.from(`${head}\n{}`)).header).toEqual(JSON.parse(head));
    }
  });

  it('round-trips a header and the exact frame bytes', () => {
    const decoded = decodeEnvelope(new Uint8Array(encodeEnvelope(header, frame)));
    expect(decoded.header).toEqual(header);
    expect(decoded.frame.equals(frame)).toBe(true);
  });

  it.each([
    ['empty', Buffer.alloc(0), 'broadcast envelope has no header line'],
    ['truncated before the newline', encodeEnvelope(header, frame).subarray(0, 20), 'no header line'],
    ['a huge header with no newline', Buffer.alloc(8 * 1024 * 1024, 0x7b), 'no header line'],
    ['wrong version', Buffer.from(`${JSON.stringify({ ...header, v: 2 })}\n{}`), 'header is malformed'],
    ['no origin', Buffer.from(`${JSON.stringify({ ...header, origin: 7 })}\n{}`), 'header is malformed'],
    [
      'no target kind',
      Buffer.from(`${JSON.stringify({ ...header, target: {} })}\n{}`),
      'header is malformed',
    ],
    ['a header that is not an object', Buffer.from('null\n{}'), 'header is malformed'],
    ['a header that is a number', Buffer.from('1e999\n{}'), 'header is malformed'],
  ])('refuses %s with a TypeError', (_name, payload, message) => {
    expect(() => decodeEnvelope(payload)).toThrow(TypeError);
    expect(() => decodeEnvelope(payload)).toThrow(message);
  });

  it('refuses a header that is not JSON with a SyntaxError', () => {
    expect(() => decodeEnvelope(Buffer.from('{"v":1,"origin":\n{}'))).toThrow(SyntaxError);
    expect(() => decodeEnvelope(Buffer.from('\n{}'))).toThrow(SyntaxError);
  });

  it('a gateway counts malformed payloads from the backend as backend errors and keeps delivering', async () => {
    const bus = new MemoryBus();
    const { gw, url } = await startTestGateway({ backend: new MemoryBackend({ bus }) });
    const raw = new MemoryBackend({ bus });
    await raw.start(() => undefined);
    const errors: string[] = [];
    gw.setObservabilityHooks({ onError: (_e, context) => errors.push(context) });
    const client = await TestClient.open(url);
    await client.request({ type: 'subscribe', channel: 'news' });
    const bad = [
      Buffer.alloc(0),
      Buffer.from('not json\n{}'),
      Buffer.from(`${JSON.stringify({ ...header, v: 2 })}\n{}`),
      Buffer.alloc(1024 * 1024, 0x20),
    ];
    for (const payload of bad) await raw.publish('channel:news', payload);
    await raw.publish('channel:news', encodeEnvelope(header, frame));
    await client.waitFor((f) => f.type === 'headline');
    expect(client.frames.filter((f) => f.channel === 'news').map((f) => f.data)).toEqual([1]);
    expect(gw.getStats().counters.backend_errors).toBe(bad.length);
    expect(errors).toEqual(bad.map(() => 'backend receive'));
    await raw.stop();
  });
});

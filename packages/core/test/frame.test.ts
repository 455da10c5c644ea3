import { describe, expect, it } from 'vitest';
import { type FrameId, publishAckText } from '../src/frame';
import { FrameError, parseFrame, safeJsonParse } from '../src/index';

describe('parseFrame', () => {
  it('reads a frame with every field', () => {
    expect(
      parseFrame('{"type":"publish","id":7,"channel":"news","data":{"a":1},"event":"x","extra":true}'),
    ).toEqual({
      type: 'publish',
      id: 7,
      channel: 'news',
      data: { a: 1 },
      event: 'x',
      extra: true,
    });
  });

  it.each([
    ['{not json', 'the frame is not valid JSON'],
    ['[1,2]', 'the frame must be a JSON object, got an array'],
    ['"s"', 'the frame must be a JSON object, got "s"'],
    ['42', 'the frame must be a JSON object, got number 42'],
    ['null', 'the frame must be a JSON object, got null'],
    ['{"id":5}', '"type" must be a string of 1 to 100 characters, got nothing'],
    ['{"type":7}', '"type" must be a string of 1 to 100 characters, got number 7'],
    ['{"type":""}', '"type" must be a string of 1 to 100 characters, got ""'],
    [`{"type":"${'t'.repeat(101)}"}`, '"type" must be a string of 1 to 100 characters, got a long string'],
    [
      '{"type":"x","id":1.5}',
      '"id" must be a string of at most 128 characters or an integer, got number 1.5',
    ],
    ['{"type":"x","id":{}}', '"id" must be a string of at most 128 characters or an integer, got an object'],
    [
      `{"type":"x","id":"${'i'.repeat(129)}"}`,
      '"id" must be a string of at most 128 characters or an integer, got a long string',
    ],
    ['{"type":"x","channel":5}', '"channel" must be a string, got number 5'],
  ])('refuses %s as bad_request', (text, message) => {
    let error: unknown;
    try {
      parseFrame(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FrameError);
    expect((error as FrameError).code).toBe('bad_request');
    expect((error as FrameError).message).toBe(message);
  });

  it('keeps a valid id on a refused frame so the error can echo it', () => {
    try {
      parseFrame('{"type":7,"id":"abc"}');
      expect.unreachable();
    } catch (e) {
      expect((e as FrameError).requestId).toBe('abc');
    }
  });

  it('treats a null id as no id', () => {
    expect(parseFrame('{"type":"ping","id":null}')).toEqual({ type: 'ping' });
  });
});

describe('safeJsonParse', () => {
  it('removes __proto__ keys at every depth', () => {
    const v = safeJsonParse(
      '{"a":{"__proto__":{"polluted":1},"b":[{"__proto__":{"x":1}}]},"__proto__":{"y":2}}',
    ) as Record<string, unknown>;
    expect(Object.hasOwn(v, '__proto__')).toBe(false);
    const a = v.a as Record<string, unknown>;
    expect(Object.hasOwn(a, '__proto__')).toBe(false);
    expect(Object.hasOwn((a.b as Record<string, unknown>[])[0]!, '__proto__')).toBe(false);
    // Spreading the result cannot change a prototype any more.
    const merged = Object.assign({}, v, a);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('removes constructor keys that carry a prototype, keeps harmless ones', () => {
    const v = safeJsonParse('{"constructor":{"prototype":{"x":1}},"n":{"constructor":"Bob"}}') as Record<
      string,
      unknown
    >;
    expect(Object.hasOwn(v, 'constructor')).toBe(false);
    expect((v.n as Record<string, unknown>).constructor).toBe('Bob');
  });

  it('removes the keys however the text escapes their letters', () => {
    const v = safeJsonParse(
      '{"\\u005f_proto__":{"a":1},"b":{"__pr\\u006fto__":{"c":1}},"\\u0063onstructor":{"prototype":{"d":1}}}',
    ) as Record<string, unknown>;
    expect(Object.hasOwn(v, '__proto__')).toBe(false);
    expect(Object.hasOwn(v.b as object, '__proto__')).toBe(false);
    expect(Object.hasOwn(v, 'constructor')).toBe(false);
    // JSON.parse alone would have kept them as own keys.
    expect(Object.hasOwn(JSON.parse('{"\\u005f_proto__":{"a":1}}'), '__proto__')).toBe(true);
  });

  it('leaves ordinary JSON as JSON.parse reads it', () => {
    const text = '{"a":[1,2,{"b":null}],"c":"constructor"}';
    expect(safeJsonParse(text)).toEqual(JSON.parse(text));
  });
});

describe('publishAckText', () => {
  it('is the same text as JSON.stringify of the ack, for every kind of id and channel', () => {
    const cases: [FrameId, string, number | undefined][] = [
      [7, 'news', undefined],
      ['req-1', 'room:a/b@c=d', 42],
      ['quote " and \\ and \u2028', 'x', 0],
      [0, 'c', undefined],
      [-1.5, 'c', 9007199254740991],
    ];
    for (const [id, channel, offset] of cases) {
      const data = offset === undefined ? { channel } : { channel, offset };
      expect(publishAckText(id, channel, offset)).toBe(JSON.stringify({ type: 'ack', id, data }));
    }
  });
});

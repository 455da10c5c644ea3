import fc from 'fast-check';

/**
 * Object keys, as raw JSON text, that reach `__proto__`/`constructor` once parsed, directly or
 * through escapes a text check misses.
 */
export const PROTO_KEY_TEXTS = [
  '"__proto__"',
  '"constructor"',
  '"prototype"',
  '"__proto\\u005f_"',
  '"\\u005f_proto__"',
  '"__pr\\u006fto__"',
  '"\\u005F\\u005Fproto\\u005F\\u005F"',
  '"constructo\\u0072"',
  '"__defineGetter__"',
  '"hasOwnProperty"',
  '"toString"',
  '"valueOf"',
] as const;

/** Number literals at and past the edges of doubles, as JSON text. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '1e309',
    '-1e309',
    '-0',
    '-0.0',
    '0e0',
    '1E+2',
    '1e-400',
    '5e-324',
    '1.7976931348623157e308',
    '9007199254740993',
    '18446744073709551616',
    '123456789012345678901234567890123456789012345678901234567890',
    '0.000000000000000000000000000000000000000000000000000000001',
  ),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.bigInt().map(String),
);

/** Raw JSON string literals that JSON.stringify would not write: lone surrogates, NUL, line separators, BOM. */
const rawStringLiterals = fc.constantFrom(
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"\\u0000"',
  '"a\\u0000b"',
  '"\\u2028\\u2029"',
  '"\\uFEFF"',
  '"\\/\\b\\f\\n\\r\\t"',
  '"\u{1F600}\u0301\u200d"',
);

/** Strings: unicode, binary code units, long runs; as JSON text. */
export const stringText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => JSON.stringify(s)) },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: rawStringLiterals },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('x', 'é', '\u{1F600}', '\\u0000', '"'),
        fc.oneof(
          { weight: 6, arbitrary: fc.integer({ min: 100, max: 1500 }) },
          fc.integer({ min: 1500, max: 12_000 }),
        ),
      )
      .map(([c, n]) => (c === '"' ? JSON.stringify('"'.repeat(n)) : `"${c.repeat(n)}"`)),
  },
);

/** A key of an object, as JSON text: ordinary, or one of {@link PROTO_KEY_TEXTS}. */
export const keyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.constantFrom(...PROTO_KEY_TEXTS) },
  { weight: 1, arbitrary: stringText },
);

const leafText: fc.Arbitrary<string> = fc.oneof(
  numberText,
  stringText,
  fc.constantFrom('true', 'false', 'null'),
);

/** Any JSON value as text, hostile in its leaves and keys (duplicate and prototype keys included). */
export const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string; array: string; object: string }>(
  (tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leafText, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 6 }).map((xs) => `[${xs.join(',')}]`),
    object: fc
      .array(fc.tuple(keyText, tie('value')), { maxLength: 6 })
      .map((kvs) => `{${kvs.map(([k, v]) => `${k}:${v}`).join(',')}}`),
  }),
).value;

/** Nesting `depth` levels deep, as JSON text: arrays, objects, or objects under prototype keys. */
export const deepNestingText: fc.Arbitrary<string> = fc
  .record({
    depth: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 32, max: 1000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1000, max: 9000 }) },
    ),
    open: fc.constantFrom('[', '{"a":', '{"__proto__":', '{"__proto\\u005f_":', '[{"x":'),
    inner: leafText,
  })
  .map(({ depth, open, inner }) => {
    const close = open === '[' ? ']' : open === '[{"x":' ? '}]' : '}';
    return `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
  });

/** Arrays nested 1 to `max` levels deep (2 bytes a level), shrinking to the shallowest that fails. */
export const deepArrayText = (max: number): fc.Arbitrary<string> =>
  fc.integer({ min: 1, max }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);

/** Text that is not JSON, or almost: cut, trailing garbage, comments, single quotes, NaN. */
export const brokenJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '{',
    '}',
    '[',
    '{"type":',
    '{"type":"ping"',
    '{"type":"ping"}}',
    '{"type":"ping",}',
    "{'type':'ping'}",
    '{"type":"ping"} garbage',
    '{"type":NaN}',
    '{"type":Infinity}',
    '{"type":"ping"/*c*/}',
    '\uFEFF{"type":"ping"}',
    'null',
    '[]',
    '"ping"',
    '1e309',
  ),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  jsonText.chain((t) => fc.integer({ min: 0, max: Math.max(0, t.length - 1) }).map((cut) => t.slice(0, cut))),
);

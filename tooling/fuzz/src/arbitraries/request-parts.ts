import fc from 'fast-check';
import { WATCHER_ADDRESS } from '../pong-watcher';
import { PORT_PLACEHOLDER } from '../raw-request';
import { tokenText } from './tokens';

/** `arb` with weight 1, or null (absent) with weight `absentWeight`. */
export const maybe = <T>(arb: fc.Arbitrary<T>, absentWeight = 1): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: absentWeight, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

/** `usual` most of the time, else one of `odd`. */
export const mostly = <T>(usual: T, odd: fc.Arbitrary<T>, weight = 10): fc.Arbitrary<T> =>
  fc.oneof({ weight, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: odd });

/** A header value with no line break (the malformed lines have their own generator). */
export const headerValue: fc.Arbitrary<string> = fc
  .string({ maxLength: 60 })
  .map((s) => s.replace(/[\r\n]/g, ''));

/** `X-Forwarded-For` values: lists, IPv6, ports, garbage; never the well-behaved client's address. */
export const forwardedFor: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom(
      '1.2.3.4',
      '1.2.3.4, 5.6.7.8',
      ' 1.2.3.4 ,, ',
      'unknown',
      '::1',
      '2001:db8::1',
      '2001:db8::1, 2001:db8::2',
      '[2001:db8::1]:443',
      '::ffff:1.2.3.4',
      '999.1.1.1',
      '1.2.3.4:80',
      '',
      ',',
      `${'1.2.3.4, '.repeat(500)}5.6.7.8`,
      '1.2.3.4\t5.6.7.8',
      '127.0.0.1',
      '10.0.0.1, 127.0.0.1',
      'fe80::1%eth0',
    ),
    fc.ipV4(),
    fc.ipV6(),
    fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { minLength: 2, maxLength: 5 }).map((ips) => ips.join(', ')),
  )
  .filter((v) => !v.includes(WATCHER_ADDRESS));

/** `Authorization` values: a token, a forged one, other schemes, garbage. */
export const authorization: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: tokenText.map((t) => `Bearer ${t.replace(/[\r\n]/g, '')}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'Bearer',
      'Bearer ',
      'bearer  a b',
      'Basic YTpi',
      'Digest x',
      `Bearer ${'t'.repeat(9000)}`,
    ),
  },
  { weight: 1, arbitrary: headerValue },
);

/** Header lines that break HTTP/1.1: no colon, folded, spaces in the name, NUL, too large. */
export const malformedLine: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'NoColonHere',
    ' Leading-Space: x',
    'Bad Name: x',
    'X-Folded: a\r\n  b',
    'X-Nul: a\u0000b',
    ': empty-name',
    'X-Utf8: é\u{1F600}',
    'Content-Length: 5',
    'Content-Length: -1',
    'Content-Length: 1, 2',
    'Transfer-Encoding: chunked',
    'Transfer-Encoding: gzip, chunked',
  ),
  fc.integer({ min: 8_000, max: 40_000 }).map((n) => `X-Big: ${'a'.repeat(n)}`),
);

/** Any other header: well-known names with odd values, or random names. */
export const extraHeader: fc.Arbitrary<[string, string]> = fc.tuple(
  fc.oneof(
    fc.constantFrom(
      'Cookie',
      'X-Real-IP',
      'Forwarded',
      'Expect',
      'Accept',
      'User-Agent',
      'Via',
      'X-Tenant-ID',
    ),
    fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/),
  ),
  headerValue,
);

/** Hosts: the gateway, subdomain tenants, IPv6, empty, very long. */
export const host: fc.Arbitrary<string> = mostly(
  `127.0.0.1:${PORT_PLACEHOLDER}`,
  fc.constantFrom(
    'acme.example.test',
    'evil.acme.example.test',
    'example.test',
    '-.example.test',
    '',
    '[::1]',
    'localhost',
    'x'.repeat(300),
    '127.0.0.1:99999',
  ),
  4,
);

/** Where the request's bytes stop (then half-close), and how they are paced. */
export const pacing = fc.record({
  cut: fc.oneof(
    { weight: 5, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.double({ min: 0, max: 0.999, noNaN: true }) },
  ),
  writes: fc.oneof(
    { weight: 3, arbitrary: fc.constant(1) },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: 6 }) },
  ),
  delayMs: fc.oneof(
    { weight: 8, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constantFrom(10, 50, 200) },
  ),
});

/** Headers of every request: each standard one absent, odd, or sent twice. */
export function headerList(
  parts: readonly [string, string | null | readonly string[]][],
): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of parts) {
    if (value === null) continue;
    if (typeof value === 'string') out.push([name, value]);
    else for (const v of value) out.push([name, v]);
  }
  return out;
}

/** `arb`, sometimes twice (a duplicated header), sometimes absent. */
export const headerSlot = (
  arb: fc.Arbitrary<string>,
  absentWeight = 1,
): fc.Arbitrary<string | string[] | null> =>
  fc.oneof(
    { weight: 14, arbitrary: arb },
    { weight: absentWeight, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.tuple(arb, arb) },
  );

import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header that carries the request's timestamp: Unix seconds, as decimal text. */
export const TIMESTAMP_HEADER = 'x-dotmac-timestamp';

/** The header that carries the request's signature: `sha256=<hex>`. */
export const SIGNATURE_HEADER = 'x-dotmac-signature';

/** How far a timestamp may be from the verifier's clock, in seconds, by default. */
export const DEFAULT_SIGNATURE_TOLERANCE_SEC = 300;

/**
 * The signature of one request the gateway sends (proxy request or webhook batch):
 * `sha256=` and the hex HMAC-SHA256, keyed by the shared secret, of the timestamp, a `.`, and
 * the exact body bytes. Signing the timestamp with the body stops a captured request from being
 * replayed later than the verifier's tolerance.
 *
 * @example
 * const signature = signRequest(secret, Math.floor(Date.now() / 1000), body)
 */
export function signRequest(secret: string, timestamp: number | string, body: string | Uint8Array): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return `sha256=${mac.digest('hex')}`;
}

/** What {@link verifyRequest} checks. */
export interface VerifyRequestInput {
  /** The shared secret. */
  secret: string;
  /** The `X-Dotmac-Timestamp` header as received. */
  timestamp: string | string[] | undefined;
  /** The `X-Dotmac-Signature` header as received. */
  signature: string | string[] | undefined;
  /** The raw body, exactly as received (before any JSON parsing). */
  body: string | Uint8Array;
  /** Accepted distance between the timestamp and `now`, in seconds. @default 300 */
  toleranceSec?: number;
  /** The verifier's clock, in ms since the epoch. @default Date.now() */
  now?: number;
}

/**
 * Checks that a request came from a gateway holding the shared secret and is fresh: the
 * timestamp is within `toleranceSec` of `now` and the signature matches (compared in constant
 * time). For applications written in Node; docs/app-backend.md shows the same in Python.
 *
 * @example
 * const ok = verifyRequest({ secret, timestamp: req.headers['x-dotmac-timestamp'],
 *   signature: req.headers['x-dotmac-signature'], body: rawBody })
 */
export function verifyRequest(input: VerifyRequestInput): boolean {
  const { timestamp, signature } = input;
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  const seconds = Number(timestamp);
  const now = (input.now ?? Date.now()) / 1000;
  if (Math.abs(now - seconds) > (input.toleranceSec ?? DEFAULT_SIGNATURE_TOLERANCE_SEC)) return false;
  const expected = Buffer.from(signRequest(input.secret, timestamp, input.body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The headers that sign `body`, sent with every request. @internal */
export function signatureHeaders(secret: string, body: string, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: signRequest(secret, timestamp, body),
  };
}

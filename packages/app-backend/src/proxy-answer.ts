import { safeJsonParse } from '@dotmac-ws/core';

/** The events the gateway asks the application about. */
export type ProxyRoute = 'connect' | 'refresh' | 'subscribe' | 'publish' | 'rpc';

/** Every {@link ProxyRoute}, in the order they happen in a session. */
export const PROXY_ROUTES: readonly ProxyRoute[] = ['connect', 'refresh', 'subscribe', 'publish', 'rpc'];

/** What the application decided (docs/app-backend.md, "Answers"). */
export type ProxyDecision =
  /** Go ahead; the fields depend on the route. */
  | { kind: 'result'; result: Readonly<Record<string, unknown>> }
  /** Refuse with this error (sent to the client as an `error` frame). */
  | { kind: 'error'; code: string; message: string; retryAfterMs: number | undefined }
  /** Close the session with this code (4000-4999) and reason. */
  | { kind: 'disconnect'; code: number; reason: string };

/** Error codes the application may send: 1-64 characters of A-Z a-z 0-9 _ . : - */
const ERROR_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** WebSocket close reasons are limited to 123 bytes. */
const MAX_REASON_BYTES = 123;
/** Longer error messages are cut to this many characters. */
const MAX_MESSAGE_LENGTH = 500;

/**
 * Reads the application's answer: a JSON object with exactly one of `result` (an object),
 * `error` (`{code, message?, retry_after_ms?}`) or `disconnect` (`{code: 4000-4999,
 * reason?}`). Returns the decision, or a sentence saying what is wrong with the answer (the
 * gateway then treats the request as failed). @internal
 */
export function parseProxyAnswer(text: string): ProxyDecision | string {
  let value: unknown;
  try {
    value = safeJsonParse(text);
  } catch {
    return 'the answer is not JSON';
  }
  if (!isObject(value)) return 'the answer is not a JSON object';
  const keys = (['result', 'error', 'disconnect'] as const).filter((k) => value[k] !== undefined);
  if (keys.length !== 1) return 'the answer must hold exactly one of result, error, disconnect';
  if (value.result !== undefined) {
    if (!isObject(value.result)) return 'result must be an object';
    return { kind: 'result', result: value.result };
  }
  if (value.error !== undefined) {
    const e = value.error;
    if (!isObject(e)) return 'error must be an object';
    const code = typeof e.code === 'number' && Number.isSafeInteger(e.code) ? String(e.code) : e.code;
    if (typeof code !== 'string' || !ERROR_CODE.test(code)) {
      return 'error.code must be 1-64 characters of A-Z a-z 0-9 _ . : -';
    }
    if (e.message !== undefined && typeof e.message !== 'string') return 'error.message must be a string';
    const retry = e.retry_after_ms;
    if (retry !== undefined && (typeof retry !== 'number' || !Number.isSafeInteger(retry) || retry < 0)) {
      return 'error.retry_after_ms must be an integer >= 0';
    }
    return {
      kind: 'error',
      code,
      message: (e.message ?? code).slice(0, MAX_MESSAGE_LENGTH),
      retryAfterMs: retry,
    };
  }
  const d = value.disconnect;
  if (!isObject(d)) return 'disconnect must be an object';
  if (typeof d.code !== 'number' || !Number.isInteger(d.code) || d.code < 4000 || d.code > 4999) {
    return 'disconnect.code must be an integer from 4000 to 4999';
  }
  if (d.reason !== undefined && typeof d.reason !== 'string') return 'disconnect.reason must be a string';
  return { kind: 'disconnect', code: d.code, reason: truncateBytes(d.reason ?? '', MAX_REASON_BYTES) };
}

/** True for a plain JSON object (not null, not an array). @internal */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function truncateBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  // A character takes at least one byte: cut to `max` characters first, then to `max` bytes.
  let out = text.slice(0, max);
  while (Buffer.byteLength(out) > max) out = out.slice(0, -1);
  return out;
}

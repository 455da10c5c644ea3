import {
  checkIntegerOptions,
  describeOptionValue,
  type IntegerRule,
  redactUrl,
  withoutUndefined,
} from '@dotmac-ws/core';
import { channelPatternProblems } from './channel-patterns';
import type { ProxyRoute } from './proxy-answer';

/**
 * Options of the proxy: the application's endpoints (each route is on only when its URL is
 * set), the shared secret that signs every request, and the bounds that keep a slow or failing
 * application from holding up the gateway.
 */
export interface ProxyOptions {
  /** Asked before each upgrade: who connects, or a refusal. @default undefined (off) */
  connectUrl?: string | undefined;
  /** Asked ahead of a session's expiry (`expires_at`): a later expiry, or nothing. @default undefined (off) */
  refreshUrl?: string | undefined;
  /** Asked for each client `subscribe` to a channel of `subscribeChannels`. @default undefined (off) */
  subscribeUrl?: string | undefined;
  /** Asked for each client `publish` on a channel of `publishChannels`; may replace the data. @default undefined (off) */
  publishUrl?: string | undefined;
  /** Answers every frame type that has no handler of its own (RPC); its result is the ack's data. @default undefined (off) */
  rpcUrl?: string | undefined;
  /** The shared secret that signs each request (HMAC-SHA256 over timestamp and body); at least 16 characters. */
  secret: string;
  /** How long one request (waiting for a slot included) may take, in ms. @default 2000 */
  timeoutMs?: number;
  /**
   * Handshake headers that travel with every request (`headers`, lower-cased), and cookies, as
   * `cookie:<name>` (`cookies`). A session's headers are kept only when it has an identity
   * (token or connect result); the connect request always carries them.
   * @default [] (none)
   */
  forwardHeaders?: readonly string[];
  /** Channel patterns whose `subscribe` is proxied (`*` any run of characters). @default ['*'] */
  subscribeChannels?: readonly string[];
  /** Channel patterns whose `publish` is proxied. @default ['*'] */
  publishChannels?: readonly string[];
  /** Requests to the application at once, per node. @default 64 */
  maxConcurrency?: number;
  /** Requests that may wait for a slot, per node; more are refused at once. @default 256 */
  maxQueue?: number;
  /** Failures in a row that open a route's circuit breaker. @default 5 */
  breakerFailures?: number;
  /** How long an open breaker refuses before one trial request, in ms. @default 5000 */
  breakerCooldownMs?: number;
  /** `retry_after_ms` of a `proxy_unavailable` refusal while the breaker is closed. @default 1000 */
  retryAfterMs?: number;
  /** Answers larger than this many bytes are failures. @default 1048576 */
  maxAnswerBytes?: number;
}

/** {@link ProxyOptions} with every default applied. */
export interface ResolvedProxyOptions {
  urls: Readonly<Partial<Record<ProxyRoute, URL>>>;
  secret: string;
  timeoutMs: number;
  forwardHeaders: readonly string[];
  forwardCookies: readonly string[];
  subscribeChannels: readonly string[];
  publishChannels: readonly string[];
  maxConcurrency: number;
  maxQueue: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  retryAfterMs: number;
  maxAnswerBytes: number;
}

/** Defaults of {@link ProxyOptions}. */
export const PROXY_DEFAULTS = {
  timeoutMs: 2000,
  subscribeChannels: ['*'] as readonly string[],
  publishChannels: ['*'] as readonly string[],
  forwardHeaders: [] as readonly string[],
  maxConcurrency: 64,
  maxQueue: 256,
  breakerFailures: 5,
  breakerCooldownMs: 5000,
  retryAfterMs: 1000,
  maxAnswerBytes: 1024 * 1024,
} as const;

/** The shortest secret accepted. */
export const MIN_SECRET_LENGTH = 16;

const URL_KEYS: Readonly<Record<ProxyRoute, keyof ProxyOptions>> = {
  connect: 'connectUrl',
  refresh: 'refreshUrl',
  subscribe: 'subscribeUrl',
  publish: 'publishUrl',
  rpc: 'rpcUrl',
};

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;

/** Checks `options` and applies the defaults; pushes every problem to `problems`. @internal */
export function resolveProxyOptions(options: ProxyOptions, problems: string[]): ResolvedProxyOptions {
  const o = { ...PROXY_DEFAULTS, ...withoutUndefined(options) };
  const urls: Partial<Record<ProxyRoute, URL>> = {};
  for (const [route, key] of Object.entries(URL_KEYS) as [ProxyRoute, keyof ProxyOptions][]) {
    const url = checkUrl(o[key], `proxy.${key}`, problems);
    if (url !== undefined) urls[route] = url;
  }
  checkSecret(o.secret, 'proxy.secret', problems);
  checkIntegers(problems, 'proxy', o, [
    ['timeoutMs', 1, 600_000],
    ['maxConcurrency', 1, 100_000],
    ['maxQueue', 0, 1_000_000],
    ['breakerFailures', 1, 1_000_000],
    ['breakerCooldownMs', 1, 3_600_000],
    ['retryAfterMs', 0, 3_600_000],
    ['maxAnswerBytes', 1, 64 * 1024 * 1024],
  ]);
  problems.push(
    ...channelPatternProblems(o.subscribeChannels, 'proxy.subscribeChannels'),
    ...channelPatternProblems(o.publishChannels, 'proxy.publishChannels'),
  );
  const headers: string[] = [];
  const cookies: string[] = [];
  if (!Array.isArray(o.forwardHeaders))
    problems.push('proxy.forwardHeaders must be an array of header names');
  else {
    for (const [i, h] of o.forwardHeaders.entries()) {
      const cookie = typeof h === 'string' && h.toLowerCase().startsWith('cookie:') ? h.slice(7) : null;
      const name = cookie ?? h;
      if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
        problems.push(
          `proxy.forwardHeaders[${i}] is ${describeOptionValue(h)} when it must be a header name or cookie:<name>`,
        );
      } else if (cookie !== null) cookies.push(cookie);
      else headers.push(name.toLowerCase());
    }
  }
  return {
    urls,
    secret: o.secret as string,
    timeoutMs: o.timeoutMs,
    forwardHeaders: headers,
    forwardCookies: cookies,
    subscribeChannels: o.subscribeChannels,
    publishChannels: o.publishChannels,
    maxConcurrency: o.maxConcurrency,
    maxQueue: o.maxQueue,
    breakerFailures: o.breakerFailures,
    breakerCooldownMs: o.breakerCooldownMs,
    retryAfterMs: o.retryAfterMs,
    maxAnswerBytes: o.maxAnswerBytes,
  };
}

/** An http(s) URL, or undefined when unset; a problem when it is anything else. @internal */
export function checkUrl(value: unknown, where: string, problems: string[]): URL | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    const shown = typeof value === 'string' ? `'${redactUrl(value)}'` : describeOptionValue(value);
    problems.push(`${where} is ${shown} when it must be an http:// or https:// URL`);
    return undefined;
  }
  return url;
}

/** Like core's `checkIntegerOptions`, naming each option `where.key`. @internal */
export function checkIntegers<K extends string>(
  problems: string[],
  where: string,
  options: Partial<Record<K, unknown>>,
  rules: readonly IntegerRule<K>[],
): void {
  const named: Record<string, unknown> = {};
  for (const [key] of rules) named[`${where}.${key}`] = options[key];
  const renamed: IntegerRule[] = rules.map(([key, min, max]) => [`${where}.${key}`, min, max]);
  checkIntegerOptions(problems, named, renamed);
}

/** Pushes a problem unless `value` is a secret of at least {@link MIN_SECRET_LENGTH} characters. @internal */
export function checkSecret(value: unknown, where: string, problems: string[]): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) {
    // Never the value itself: it is a secret.
    problems.push(`${where} must be a string of at least ${MIN_SECRET_LENGTH} characters`);
  }
}

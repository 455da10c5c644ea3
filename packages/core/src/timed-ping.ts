import { errorText } from './error-text';

/** What {@link timedPing} found: the round trip in ms, or why it failed. */
export type PingResult = { ok: true; latencyMs: number } | { ok: false; error: string };

/**
 * Runs a health check's round trip to a broker (`PING`, a flush, ...) and measures it: the
 * latency in milliseconds rounded to 0.01 ms (a health component's `latency_ms`), or the
 * failure's message. Never rejects.
 *
 * @example
 * const ping = await timedPing(() => redis.ping())
 * return ping.ok ? { status: 'healthy', latency_ms: ping.latencyMs } : { status: 'unhealthy', error: ping.error }
 */
export async function timedPing(ping: () => Promise<unknown>): Promise<PingResult> {
  const t0 = performance.now();
  try {
    await ping();
  } catch (error) {
    return { ok: false, error: errorText(error) };
  }
  return { ok: true, latencyMs: Math.round((performance.now() - t0) * 100) / 100 };
}

/** The reconnect schedule. */
export interface BackoffOptions {
  /** Lower bound of every delay. @default 500 */
  minDelayMs: number;
  /** Upper bound of every delay. @default 30000 */
  maxDelayMs: number;
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first): exponential growth with full
 * jitter, uniform in `[minDelayMs, min(maxDelayMs, minDelayMs * 2^(attempt + 1))]`. The jitter
 * spreads clients that lost the same server (a 1001 shutdown) over the whole window.
 *
 * @example
 * backoffDelay(0, { minDelayMs: 500, maxDelayMs: 30000 }) // 500..1000
 * backoffDelay(3, { minDelayMs: 500, maxDelayMs: 30000 }) // 500..8000
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const { minDelayMs, maxDelayMs } = options;
  // 2^31 is far past any maxDelayMs; capping the exponent keeps the arithmetic finite.
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt + 1, 31));
  const top = Math.max(minDelayMs, ceiling);
  return Math.round(minDelayMs + random() * (top - minDelayMs));
}

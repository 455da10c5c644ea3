import type { IntegerRule } from './option-checks';

/**
 * The defaults of the two timeouts every broker backend has: `connectTimeoutMs` (how long
 * `start` may take to connect) and `commandTimeoutMs` (how long the broker may take to confirm a
 * subscription or answer the health check).
 */
export const BROKER_TIMEOUT_DEFAULTS = { connectTimeoutMs: 5000, commandTimeoutMs: 2000 } as const;

/** The ranges of {@link BROKER_TIMEOUT_DEFAULTS}' options, for `checkIntegerOptions`. */
export const BROKER_TIMEOUT_RULES: readonly IntegerRule<'connectTimeoutMs' | 'commandTimeoutMs'>[] = [
  ['connectTimeoutMs', 100, 600_000],
  ['commandTimeoutMs', 10, 600_000],
];

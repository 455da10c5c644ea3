/**
 * Helpers for option factories that report every problem at once (with `ConfigError`), shared
 * by core and the packages that plug into it, so that every package words its problems alike:
 * "port is 70000 when it must be an integer from 0 to 65535".
 */

/**
 * A value as a problem names it: strings quoted, `unset` for undefined, arrays and objects by
 * kind only (their contents may hold secrets).
 */
export function describeOptionValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'unset';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** `options` without its undefined fields, so that spreading it over defaults keeps the defaults. */
export function withoutUndefined<T extends object>(options: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** One integer option: its key, least and greatest value. */
export type IntegerRule<K extends string = string> = readonly [key: K, min: number, max: number];

/** Adds a problem for each `rules` key of `options` that is not an integer within its range. */
export function checkIntegerOptions<K extends string>(
  problems: string[],
  options: Partial<Record<K, unknown>>,
  rules: readonly IntegerRule<K>[],
): void {
  for (const [key, min, max] of rules) {
    const v = options[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${key} is ${describeOptionValue(v)} when it must be an integer from ${min} to ${max}`);
    }
  }
}

/** A URL with its credentials replaced by `***`, fit for an error message. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

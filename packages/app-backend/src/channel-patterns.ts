import { isValidChannelName } from '@dotmac-ws/core';

/**
 * A list of channel name patterns, matched against the name as the client names it: `*`
 * matches any run of characters (also none), everything else matches itself. `*` alone
 * matches every channel; an empty list matches none.
 *
 * @example
 * const p = new ChannelPatterns(['chat:*', 'orders'])
 * p.matches('chat:room-1') // true
 */
export class ChannelPatterns {
  readonly #all: boolean;
  readonly #regexps: readonly RegExp[];
  /** The patterns, as given. */
  readonly patterns: readonly string[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    this.#all = patterns.includes('*');
    this.#regexps = patterns.map((p) => new RegExp(`^${p.split('*').map(escapeRegExp).join('.*')}$`));
  }

  /** True when `name` fits one of the patterns. */
  matches(name: string): boolean {
    if (this.#all) return true;
    for (const r of this.#regexps) if (r.test(name)) return true;
    return false;
  }
}

/** Problems of a pattern list (each named `where[i]`); empty when every pattern is valid. */
export function channelPatternProblems(patterns: unknown, where: string): string[] {
  if (!Array.isArray(patterns)) return [`${where} must be an array of channel patterns`];
  const problems: string[] = [];
  for (const [i, p] of patterns.entries()) {
    // A pattern is a channel name in which `*` may stand for any run of characters.
    if (typeof p !== 'string' || !isValidChannelName(p.replaceAll('*', 'x'))) {
      problems.push(
        `${where}[${i}] is ${JSON.stringify(p)} when it must be 1-200 characters of A-Z a-z 0-9 _ - . : @ / = and *`,
      );
    }
  }
  return problems;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

import { describeOptionValue, redactUrl } from './option-checks';

/** How {@link parseBrokerUrl} reads one broker URL option. */
export interface BrokerUrlRule {
  /** The option's name as problems word it, e.g. `url` or `servers[1]`. */
  name: string;
  /** The schemes accepted, with their colon, e.g. `['redis:', 'rediss:']`. */
  schemes: readonly string[];
  /** What the value must be, ending each problem, e.g. `a redis:// URL such as ...`. */
  expected: string;
  /** The port of a URL that names none. */
  defaultPort: number;
  /**
   * The scheme assumed when the text has none (`host:port`), e.g. `nats`.
   * @default undefined (a scheme is required)
   */
  defaultScheme?: string;
  /**
   * Trim white space around the text first, and refuse a value that is only white space.
   * @default false
   */
  trim?: boolean;
}

/** A broker URL that {@link parseBrokerUrl} accepted. */
export interface BrokerUrl {
  /** The parsed URL (its credentials, path and query are left for the backend to judge). */
  url: URL;
  /** The port named, or the rule's `defaultPort`. */
  port: number;
  /** The text as given (trimmed when the rule says so), before a default scheme is added. */
  text: string;
}

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Parses a broker URL option (`redis://user:secret@host:6379/0`, `nats://host:4222`, ...): a
 * string that `URL` accepts with one of `rule.schemes`. On a problem, adds it to `problems`
 * (worded like every option problem, with credentials redacted) and returns null, so that an
 * option factory can report every problem at once in one `ConfigError`.
 *
 * @example
 * const parsed = parseBrokerUrl(options.url, {
 *   name: 'url', schemes: ['redis:'], expected: 'a redis:// URL', defaultPort: 6379,
 * }, problems)
 */
export function parseBrokerUrl(value: unknown, rule: BrokerUrlRule, problems: string[]): BrokerUrl | null {
  const { name, expected } = rule;
  if (typeof value !== 'string' || (rule.trim === true && value.trim() === '')) {
    problems.push(`${name} is ${describeOptionValue(value)} when it must be ${expected}`);
    return null;
  }
  const given = rule.trim === true ? value.trim() : value;
  const text =
    rule.defaultScheme === undefined || HAS_SCHEME.test(given) ? given : `${rule.defaultScheme}://${given}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push(`${name} is ${describeOptionValue(redactUrl(given))} when it must be ${expected}`);
    return null;
  }
  if (!rule.schemes.includes(url.protocol)) {
    problems.push(`${name} has the scheme '${url.protocol}' when it must be ${expected}`);
    return null;
  }
  return { url, port: url.port === '' ? rule.defaultPort : Number(url.port), text: given };
}

/**
 * A broker URL without its credentials, path or query, fit for logs and health details:
 * `rediss://user:secret@host:6380/2` gives `rediss://host:6380`.
 */
export function brokerUrlOrigin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

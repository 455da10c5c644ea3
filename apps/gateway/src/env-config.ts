import { ConfigError } from '@dotmac-ws/core';
import { type EnvVar, envSchema, GATEWAY_PROFILES, type GatewayProfile } from './env-schema';
import { PLUGINS } from './plugins';

/** A parsed variable value. */
export type EnvValue = string | number | boolean | string[] | undefined;

/** The reference gateway's settings, read from the environment. */
export interface EnvConfig {
  /** The profile whose defaults apply (`GATEWAY_PROFILE`, else from `NODE_ENV`). */
  readonly profile: GatewayProfile;
  /** Where the profile came from, e.g. `GATEWAY_PROFILE=production` or `NODE_ENV=production`. */
  readonly profileSource: string;
  /** Each variable of the schema by name, parsed (defaults applied). */
  readonly values: Readonly<Record<string, EnvValue>>;
  /** The text the variable was set as, or its default's; undefined when neither. */
  raw(name: string): string | undefined;
  /** True when the variable was set (not left to its default). */
  isSet(name: string): boolean;
  /** Reads a string variable. */
  string(name: string): string | undefined;
  /** Reads an integer variable. */
  int(name: string): number;
  /** Reads a boolean variable. */
  bool(name: string): boolean;
  /** Reads a list variable. */
  list(name: string): string[] | undefined;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/**
 * Reads every variable of {@link envSchema} from `env`. Throws one {@link ConfigError} that
 * names every bad value, e.g. "WS_PORT is set as 'abc' when it must be an integer from 0 to 65535".
 */
export function readEnvConfig(
  env: Record<string, string | undefined> = process.env,
  schema: readonly EnvVar[] = envSchema(PLUGINS),
): EnvConfig {
  const problems: string[] = [];
  const values: Record<string, EnvValue> = {};
  const set = new Set<string>();
  const texts = new Map<string, string>();
  const { profile, source: profileSource } = profileOf(env);
  for (const v of schema) {
    const raw = env[v.name];
    const given = raw !== undefined && raw.trim() !== '';
    if (given) set.add(v.name);
    const fallback = profile === 'production' && v.production !== undefined ? v.production : v.default;
    const text = given ? raw.trim() : (fallback ?? undefined);
    if (text !== undefined) texts.set(v.name, text);
    if (text === undefined) {
      values[v.name] = undefined;
      continue;
    }
    const parsed = parse(v, text);
    if (parsed.ok) values[v.name] = parsed.value;
    else problems.push(`${v.name} is set as '${raw}' when it must be ${parsed.expected}`);
  }
  if (problems.length > 0) throw new ConfigError(problems, 'environment');
  return {
    profile,
    profileSource,
    values,
    raw: (name) => texts.get(name),
    isSet: (name) => set.has(name),
    string: (name) => values[name] as string | undefined,
    int: (name) => values[name] as number,
    bool: (name) => values[name] as boolean,
    list: (name) => values[name] as string[] | undefined,
  };
}

/**
 * The profile `env` asks for: `GATEWAY_PROFILE` when it names one, else `production` when
 * `NODE_ENV=production`, else `development`. (A bad `GATEWAY_PROFILE` is reported with the rest.)
 */
function profileOf(env: Record<string, string | undefined>): { profile: GatewayProfile; source: string } {
  const named = env.GATEWAY_PROFILE?.trim() ?? '';
  if ((GATEWAY_PROFILES as readonly string[]).includes(named)) {
    return { profile: named as GatewayProfile, source: `GATEWAY_PROFILE=${named}` };
  }
  if (named === '' && env.NODE_ENV?.trim() === 'production') {
    return { profile: 'production', source: 'NODE_ENV=production' };
  }
  return { profile: 'development', source: 'the default' };
}

function parse(v: EnvVar, text: string): { ok: true; value: EnvValue } | { ok: false; expected: string } {
  const k = v.kind;
  switch (k.type) {
    case 'int': {
      const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
      return Number.isSafeInteger(n) && n >= k.min && n <= k.max
        ? { ok: true, value: n }
        : { ok: false, expected: `an integer from ${k.min} to ${k.max}` };
    }
    case 'bool': {
      const t = text.toLowerCase();
      if (TRUE.has(t)) return { ok: true, value: true };
      if (FALSE.has(t)) return { ok: true, value: false };
      return { ok: false, expected: 'true or false' };
    }
    case 'enum':
      return k.values.includes(text)
        ? { ok: true, value: text }
        : { ok: false, expected: `one of ${k.values.join(', ')}` };
    case 'list': {
      const items = text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      return items.length > 0
        ? { ok: true, value: items }
        : { ok: false, expected: 'a comma-separated list' };
    }
    default:
      return k.pattern === undefined || k.pattern.test(text)
        ? { ok: true, value: text }
        : { ok: false, expected: k.hint ?? `text matching ${k.pattern}` };
  }
}

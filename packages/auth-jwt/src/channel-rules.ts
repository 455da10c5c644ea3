import { type ChannelOptions, ConfigError, channelOptionProblems } from '@dotmac-ws/core';

/**
 * Who may do something on a channel: `true` anyone (also unauthenticated sessions), `false`
 * nobody, `'authenticated'` any authenticated session, or a {@link ChannelRequirement}.
 */
export type ChannelAccess = boolean | 'authenticated' | ChannelRequirement;

/**
 * An authenticated session that holds at least one of `roles` (when set) and at least one of
 * `permissions` (when set). `{}` is any authenticated session.
 */
export interface ChannelRequirement {
  /** The session must hold one of these roles. @default undefined (no role needed) */
  roles?: readonly string[];
  /** The session must hold one of these permissions. @default undefined (no permission needed) */
  permissions?: readonly string[];
}

/**
 * One rule of a {@link channelPolicy}. `pattern` is matched against the channel name as the
 * client names it: `*` matches any run of characters (also none), `{sub}` (alias `{user_id}`)
 * and `{tenant_id}` match the session's own user or tenant and fill a whole ':'-separated
 * segment. A channel whose name fits a placeholder pattern but is not the session's own under
 * any placeholder rule (`user:bob` for alice under `user:{sub}`) is denied for every action,
 * whatever this or any other rule allows. A user id containing ':' owns no placeholder channel.
 *
 * @example
 * { pattern: 'admin:*', subscribe: { roles: ['admin'] }, publish: { permissions: ['admin:write'] } }
 * { pattern: 'user:{sub}', subscribe: 'authenticated', publish: false }
 */
export interface ChannelRule {
  /** Channel name pattern: channel-name characters, `*`, `{sub}`, `{user_id}`, `{tenant_id}`. */
  pattern: string;
  /** Who may subscribe; unset falls to the policy's `defaultSubscribe`. @default undefined */
  subscribe?: ChannelAccess;
  /** Who may publish; unset falls to the policy's `defaultPublish`. @default undefined */
  publish?: ChannelAccess;
  /** Publications kept for recovery and `history` (protocol.md v1.1); 0 is off. @default 0 */
  history_size?: number;
  /** How long history lives after the channel's last publication, in ms. @default 300000 */
  history_ttl_ms?: number;
  /** `stream` recovers every missed publication; `cache` gives each subscribe the latest. @default 'stream' */
  recovery?: 'stream' | 'cache';
  /** More missed publications than this and a recovery answers `recovered:false`. @default 300 */
  max_recovery_publications?: number;
  /** Subscribers are members of the channel's presence. @default false */
  presence?: boolean;
  /** Subscribers get `join`/`leave` pushes (needs `presence`). @default false */
  join_leave?: boolean;
  /** More members than this and a subscribe is refused with `presence_full`. @default unlimited */
  max_presence_members?: number;
  /**
   * Ask the application backend about each `subscribe` to these channels (read by
   * `@dotmac-ws/app-backend`'s reference-gateway plugin, not by the policy). @default false
   */
  proxy_subscribe?: boolean;
  /** Ask the application backend about each `publish` on these channels (as `proxy_subscribe`). @default false */
  proxy_publish?: boolean;
}

/** Rule keys that name application-backend routes (booleans; the policy ignores them). */
export const RULE_ROUTE_KEYS = ['proxy_subscribe', 'proxy_publish'] as const;

/** The channel option keys of a rule, as protocol.md names them, and their `ChannelOptions` names. */
export const RULE_OPTION_KEYS = {
  history_size: 'historySize',
  history_ttl_ms: 'historyTtlMs',
  recovery: 'recovery',
  max_recovery_publications: 'maxRecoveryPublications',
  presence: 'presence',
  join_leave: 'joinLeave',
  max_presence_members: 'maxPresenceMembers',
} as const satisfies Record<string, keyof ChannelOptions>;

/** The channel options a rule sets, or null when it sets none. */
export function ruleChannelOptions(rule: ChannelRule): ChannelOptions | null {
  let out: ChannelOptions | null = null;
  for (const [key, name] of Object.entries(RULE_OPTION_KEYS)) {
    const v = rule[key as keyof typeof RULE_OPTION_KEYS];
    if (v === undefined) continue;
    out ??= {};
    (out as Record<string, unknown>)[name] = v;
  }
  return out;
}

/** Defaults of a {@link channelPolicy}, for channels no rule matches (and actions a rule leaves unset). */
export interface ChannelPolicyOptions {
  /** Who may subscribe where no rule says. @default true (anyone) */
  defaultSubscribe?: ChannelAccess;
  /** Who may publish where no rule says. @default false (nobody) */
  defaultPublish?: ChannelAccess;
}

/** Rules and defaults, as a rules file holds them. */
export interface ChannelPolicyConfig extends ChannelPolicyOptions {
  /** The rules, first match decides. */
  rules: ChannelRule[];
}

/** The placeholders a pattern may use, and what of the session each stands for. */
export const PLACEHOLDERS = { sub: 'userId', user_id: 'userId', tenant_id: 'tenantId' } as const;

/** A pattern piece: literal text, `*`, or a placeholder. */
export type PatternPart =
  | { kind: 'text'; text: string }
  | { kind: 'any' }
  | { kind: 'placeholder'; of: 'userId' | 'tenantId' };

const TOKEN = /\{([^}]*)\}|\*|[A-Za-z0-9_\-.:@/=]+/y;

/** Splits a pattern into parts; returns a problem sentence instead when it is not a valid pattern. */
export function parsePattern(pattern: string): PatternPart[] | string {
  if (pattern.length === 0 || pattern.length > 200) return 'must be 1-200 characters';
  const parts: PatternPart[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < pattern.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(pattern);
    if (m === null) {
      return `has ${JSON.stringify(pattern[at])} at ${at}: use channel-name characters (A-Z a-z 0-9 _ - . : @ / =), '*' and {sub}, {user_id}, {tenant_id}`;
    }
    if (m[0] === '*') parts.push({ kind: 'any' });
    else if (m[1] !== undefined) {
      const of = (PLACEHOLDERS as Record<string, 'userId' | 'tenantId'>)[m[1]];
      if (!Object.hasOwn(PLACEHOLDERS, m[1]) || of === undefined) {
        return `has the unknown placeholder {${m[1]}}: use {sub}, {user_id} or {tenant_id}`;
      }
      parts.push({ kind: 'placeholder', of });
    } else parts.push({ kind: 'text', text: m[0] });
  }
  // A placeholder fills a whole ':'-separated segment, so that one channel name has one owner.
  for (let i = 0; i < parts.length; i++) {
    if (parts[i]!.kind !== 'placeholder') continue;
    const before = parts[i - 1];
    const after = parts[i + 1];
    if (
      (before !== undefined && !(before.kind === 'text' && before.text.endsWith(':'))) ||
      (after !== undefined && !(after.kind === 'text' && after.text.startsWith(':')))
    ) {
      return "has a placeholder that is not a whole segment: put it between ':' separators, as in 'user:{sub}:inbox'";
    }
  }
  return parts;
}

/**
 * Checks rules and defaults (as read from JSON: a list of rules, or `{ rules, defaultSubscribe?,
 * defaultPublish? }`) and returns them typed. Throws one `ConfigError` listing every problem.
 */
export function parseChannelRules(value: unknown, subject = 'channel rules'): ChannelPolicyConfig {
  const problems: string[] = [];
  let rulesValue: unknown = value;
  const config: ChannelPolicyConfig = { rules: [] };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (key !== 'rules' && key !== 'defaultSubscribe' && key !== 'defaultPublish') {
        problems.push(`${key} is not a setting: use rules, defaultSubscribe or defaultPublish`);
      }
    }
    rulesValue = o.rules;
    for (const key of ['defaultSubscribe', 'defaultPublish'] as const) {
      if (o[key] !== undefined) {
        const access = checkAccess(o[key], key, problems);
        if (access !== undefined) config[key] = access;
      }
    }
  }
  if (!Array.isArray(rulesValue)) {
    problems.push('rules must be a list of { pattern, subscribe?, publish? }');
  } else {
    rulesValue.forEach((raw, i) => {
      const at = `rules[${i}]`;
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        problems.push(`${at} must be an object { pattern, subscribe?, publish? }`);
        return;
      }
      const r = raw as Record<string, unknown>;
      for (const key of Object.keys(r)) {
        if (
          key !== 'pattern' &&
          key !== 'subscribe' &&
          key !== 'publish' &&
          !Object.hasOwn(RULE_OPTION_KEYS, key) &&
          !(RULE_ROUTE_KEYS as readonly string[]).includes(key)
        ) {
          problems.push(
            `${at}.${key} is not a rule field: use pattern, subscribe, publish, a channel option (${Object.keys(RULE_OPTION_KEYS).join(', ')}) or ${RULE_ROUTE_KEYS.join(', ')}`,
          );
        }
      }
      if (typeof r.pattern !== 'string') {
        problems.push(`${at}.pattern must be a string such as 'admin:*' or 'user:{sub}'`);
        return;
      }
      const parsed = parsePattern(r.pattern);
      if (typeof parsed === 'string') problems.push(`${at}.pattern '${r.pattern}' ${parsed}`);
      const rule: ChannelRule = { pattern: r.pattern };
      for (const action of ['subscribe', 'publish'] as const) {
        if (r[action] !== undefined) {
          const access = checkAccess(r[action], `${at}.${action}`, problems);
          if (access !== undefined) rule[action] = access;
        }
      }
      const options: Record<string, unknown> = {};
      for (const [key, name] of Object.entries(RULE_OPTION_KEYS)) {
        if (r[key] !== undefined) {
          options[name] = r[key];
          (rule as unknown as Record<string, unknown>)[key] = r[key];
        }
      }
      for (const problem of channelOptionProblems(options, at)) {
        // Name the fields as the rules file does.
        problems.push(
          Object.entries(RULE_OPTION_KEYS).reduce(
            (text, [key, name]) => text.replace(`${at}.${name} `, `${at}.${key} `),
            problem,
          ),
        );
      }
      for (const key of RULE_ROUTE_KEYS) {
        if (r[key] === undefined) continue;
        if (typeof r[key] !== 'boolean')
          problems.push(`${at}.${key} must be true or false (got ${JSON.stringify(r[key])})`);
        else rule[key] = r[key];
      }
      config.rules.push(rule);
    });
  }
  if (problems.length > 0) throw new ConfigError(problems, subject);
  return config;
}

function checkAccess(value: unknown, at: string, problems: string[]): ChannelAccess | undefined {
  if (typeof value === 'boolean' || value === 'authenticated') return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const before = problems.length;
    for (const key of Object.keys(o)) {
      if (key !== 'roles' && key !== 'permissions') {
        problems.push(`${at}.${key} is not a requirement: use roles or permissions`);
      }
    }
    const out: ChannelRequirement = {};
    for (const key of ['roles', 'permissions'] as const) {
      const list = o[key];
      if (list === undefined) continue;
      if (
        !Array.isArray(list) ||
        list.length === 0 ||
        list.some((x) => typeof x !== 'string' || x.length === 0)
      ) {
        problems.push(`${at}.${key} must be a non-empty list of non-empty strings`);
      } else out[key] = [...list];
    }
    return problems.length === before ? out : undefined;
  }
  problems.push(
    `${at} is ${JSON.stringify(value)} when it must be true, false, 'authenticated' or { roles?, permissions? }`,
  );
  return undefined;
}

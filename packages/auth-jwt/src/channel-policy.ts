import type { ChannelOptions, ChannelPolicy, ChannelRef } from '@dotmac-ws/core';
import {
  type ChannelAccess,
  type ChannelPolicyOptions,
  type ChannelRule,
  type PatternPart,
  parseChannelRules,
  parsePattern,
  ruleChannelOptions,
} from './channel-rules';

/** What of a session a channel policy reads. */
export interface PolicySubject {
  readonly userId: string | null;
  readonly tenantId: string | null;
  readonly roles: readonly string[];
  readonly permissions: readonly string[];
  readonly isAuthenticated: boolean;
}

/** An action on a channel. */
export type ChannelAction = 'subscribe' | 'publish';

/** Why a {@link RuleChannelPolicy} decided as it did. */
export interface ChannelDecision {
  /** Is the action allowed? */
  allowed: boolean;
  /** The index of the rule that decided; null when the default did. */
  rule: number | null;
  /** True when the channel belongs to another user or tenant (a placeholder did not match the session). */
  foreign: boolean;
}

interface CompiledRule {
  rule: ChannelRule;
  parts: PatternPart[];
  shape: RegExp;
  placeholders: boolean;
  options: ChannelOptions | null;
}

/** Channel names whose options are remembered; the cache starts over when full. */
const OPTION_CACHE_SIZE = 10_000;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Declarative channel rules (core's `ChannelPolicy`): the first rule whose pattern matches the
 * channel decides; an action that rule leaves unset, and a channel no rule matches, fall to the
 * defaults (subscribe: anyone, publish: nobody). A channel that fits a `{sub}` / `{tenant_id}`
 * pattern but names another user or tenant is always denied, wherever that rule is in the list.
 */
export class RuleChannelPolicy implements ChannelPolicy {
  readonly #rules: CompiledRule[];
  readonly #defaults: Record<ChannelAction, ChannelAccess>;
  readonly #optionCache = new Map<string, ChannelOptions | null>();

  /** Checks the rules (throws one `ConfigError` listing every problem). */
  constructor(rules: readonly ChannelRule[], options: ChannelPolicyOptions = {}) {
    const config = parseChannelRules({ ...options, rules }, 'channel policy');
    this.#defaults = {
      subscribe: config.defaultSubscribe ?? true,
      publish: config.defaultPublish ?? false,
    };
    this.#rules = config.rules.map((rule) => {
      const parts = parsePattern(rule.pattern) as PatternPart[];
      const shape = new RegExp(
        `^${parts.map((p) => (p.kind === 'text' ? escapeRegExp(p.text) : p.kind === 'any' ? '.*' : '.+')).join('')}$`,
      );
      return {
        rule,
        parts,
        shape,
        placeholders: parts.some((p) => p.kind === 'placeholder'),
        options: ruleChannelOptions(rule),
      };
    });
  }

  /** May `session` subscribe to `channel`? */
  canSubscribe(session: PolicySubject, channel: ChannelRef): boolean {
    return this.decide(session, channel.name, 'subscribe').allowed;
  }

  /** May `session` publish on `channel`? */
  canPublish(session: PolicySubject, channel: ChannelRef): boolean {
    return this.decide(session, channel.name, 'publish').allowed;
  }

  /**
   * The channel's options (history, recovery, presence): those of the first rule whose pattern
   * fits the name (placeholders fit any segment: options belong to the channel, not the session).
   */
  options(channel: ChannelRef): ChannelOptions | null {
    const cached = this.#optionCache.get(channel.name);
    if (cached !== undefined) return cached;
    let found: ChannelOptions | null = null;
    for (const c of this.#rules) {
      if (c.shape.test(channel.name)) {
        found = c.options;
        break;
      }
    }
    if (this.#optionCache.size >= OPTION_CACHE_SIZE) this.#optionCache.clear();
    this.#optionCache.set(channel.name, found);
    return found;
  }

  /** Decides `action` on the channel `name` (as the client names it), and says which rule decided. */
  decide(session: PolicySubject, name: string, action: ChannelAction): ChannelDecision {
    // A placeholder rule applies to a session only when the channel is the session's own under
    // it. A channel that fits some placeholder rule but is own under none belongs to someone
    // else: denied, whatever any rule (even a broader one listed first) allows.
    let fits = -1;
    let own = false;
    for (let i = 0; i < this.#rules.length && !own; i++) {
      const c = this.#rules[i]!;
      if (!c.placeholders || !c.shape.test(name)) continue;
      if (fits < 0) fits = i;
      own = ownMatch(c.parts, session).test(name);
    }
    if (fits >= 0 && !own) return { allowed: false, rule: fits, foreign: true };
    for (let i = 0; i < this.#rules.length; i++) {
      const c = this.#rules[i]!;
      if (!c.shape.test(name)) continue;
      if (c.placeholders && !ownMatch(c.parts, session).test(name)) continue;
      const access = c.rule[action] ?? this.#defaults[action];
      return { allowed: grants(access, session), rule: i, foreign: false };
    }
    return { allowed: grants(this.#defaults[action], session), rule: null, foreign: false };
  }
}

/**
 * The pattern with the session's own values in its placeholders. Never matches for a missing
 * value, nor for one with ':' (which could pass for another user's `user:{sub}:…` channel).
 */
function ownMatch(parts: PatternPart[], session: PolicySubject): RegExp {
  let source = '';
  for (const p of parts) {
    if (p.kind === 'text') source += escapeRegExp(p.text);
    else if (p.kind === 'any') source += '.*';
    else {
      const value = session[p.of];
      if (value === null || value === '' || value.includes(':')) return /(?!)/;
      source += escapeRegExp(value);
    }
  }
  return new RegExp(`^${source}$`);
}

function grants(access: ChannelAccess, session: PolicySubject): boolean {
  if (access === true) return true;
  if (access === false) return false;
  if (!session.isAuthenticated) return false;
  if (access === 'authenticated') return true;
  if (access.roles !== undefined && !access.roles.some((r) => session.roles.includes(r))) return false;
  if (access.permissions !== undefined && !access.permissions.some((p) => session.permissions.includes(p))) {
    return false;
  }
  return true;
}

/**
 * Creates a {@link RuleChannelPolicy}: pass it as the gateway's `channelPolicy`. Throws a
 * `ConfigError` listing every problem in the rules.
 *
 * @example
 * channelPolicy([
 *   { pattern: 'user:{sub}', subscribe: 'authenticated', publish: false },
 *   { pattern: 'admin:*', subscribe: { roles: ['admin'] }, publish: { permissions: ['admin:write'] } },
 *   { pattern: 'chat:*', subscribe: 'authenticated', publish: { permissions: ['chat:write'] } },
 * ])
 */
export function channelPolicy(
  rules: readonly ChannelRule[],
  options: ChannelPolicyOptions = {},
): RuleChannelPolicy {
  return new RuleChannelPolicy(rules, options);
}

import type { ChannelRef } from './channel-policy';

/** How a channel keeps history on recovery: every missed publication, or only the latest. */
export type RecoveryMode = 'stream' | 'cache';

/**
 * What a channel has switched on (protocol.md v1.1, "Channel options"). Chosen per channel by
 * {@link ChannelPolicy.options}; a channel no rule matches has none of them.
 */
export interface ChannelOptions {
  /** Publications kept for recovery and `history`; 0 turns history off. @default 0 */
  historySize?: number;
  /** How long a channel's history lives after its last publication, in ms. @default 300000 when historySize > 0 */
  historyTtlMs?: number;
  /** `stream`: recover every missed publication; `cache`: every subscribe gets the latest one. @default 'stream' */
  recovery?: RecoveryMode;
  /** More missed publications than this and a recovery answers `recovered:false`. @default 300 */
  maxRecoveryPublications?: number;
  /** Subscribed sessions are members of the channel's presence. @default false */
  presence?: boolean;
  /** Subscribers get `join`/`leave` pushes as members come and go (needs `presence`). @default false */
  joinLeave?: boolean;
  /** More members than this and a `subscribe` is refused with `presence_full`. @default unlimited */
  maxPresenceMembers?: number;
}

/** {@link ChannelOptions} with every default applied. @internal */
export interface ResolvedChannelOptions {
  historySize: number;
  historyTtlMs: number;
  recovery: RecoveryMode;
  maxRecoveryPublications: number;
  presence: boolean;
  joinLeave: boolean;
  maxPresenceMembers: number;
}

/** Defaults of {@link ChannelOptions}. */
export const CHANNEL_OPTION_DEFAULTS = {
  historyTtlMs: 300_000,
  recovery: 'stream',
  maxRecoveryPublications: 300,
  /** Idempotency keys live at least this long, however short the history TTL (protocol.md). */
  minIdempotencyTtlMs: 120_000,
} as const;

/** The options of a channel no rule matches. @internal */
export const NO_CHANNEL_OPTIONS: ResolvedChannelOptions = Object.freeze({
  historySize: 0,
  historyTtlMs: 0,
  recovery: 'stream',
  maxRecoveryPublications: CHANNEL_OPTION_DEFAULTS.maxRecoveryPublications,
  presence: false,
  joinLeave: false,
  maxPresenceMembers: Number.POSITIVE_INFINITY,
});

/**
 * Checks `options` (from code or a rules file) and returns every problem, each naming the
 * field as `where.field`; an empty list means valid.
 */
export function channelOptionProblems(options: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  const int = (key: string, min: number) => {
    const v = options[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      problems.push(`${where}.${key} must be an integer >= ${min} (got ${JSON.stringify(v)})`);
    }
  };
  const bool = (key: string) => {
    const v = options[key];
    if (v !== undefined && typeof v !== 'boolean') {
      problems.push(`${where}.${key} must be true or false (got ${JSON.stringify(v)})`);
    }
  };
  int('historySize', 0);
  int('historyTtlMs', 1);
  int('maxRecoveryPublications', 1);
  int('maxPresenceMembers', 1);
  bool('presence');
  bool('joinLeave');
  const r = options.recovery;
  if (r !== undefined && r !== 'stream' && r !== 'cache') {
    problems.push(`${where}.recovery must be "stream" or "cache" (got ${JSON.stringify(r)})`);
  }
  if (options.joinLeave === true && options.presence !== true) {
    problems.push(`${where}.joinLeave needs presence: true`);
  }
  return problems;
}

/** Applies the defaults. @internal */
export function resolveChannelOptions(o: ChannelOptions | null | undefined): ResolvedChannelOptions {
  if (o === null || o === undefined) return NO_CHANNEL_OPTIONS;
  const historySize = o.historySize ?? 0;
  return {
    historySize,
    historyTtlMs: historySize > 0 ? (o.historyTtlMs ?? CHANNEL_OPTION_DEFAULTS.historyTtlMs) : 0,
    recovery: o.recovery ?? CHANNEL_OPTION_DEFAULTS.recovery,
    maxRecoveryPublications: o.maxRecoveryPublications ?? CHANNEL_OPTION_DEFAULTS.maxRecoveryPublications,
    presence: o.presence ?? false,
    joinLeave: (o.presence ?? false) && (o.joinLeave ?? false),
    maxPresenceMembers: o.maxPresenceMembers ?? Number.POSITIVE_INFINITY,
  };
}

/** Reads a channel's options from a policy that may not define them. @internal */
export type ChannelOptionsSource = (channel: ChannelRef) => ChannelOptions | null | undefined;

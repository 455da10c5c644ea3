import type { ChannelFeatures } from './channel-features';
import { MAX_HISTORY_LIMIT } from './channel-history';
import type { ChannelRef } from './channel-policy';
import { ErrorCode } from './constants';
import { readFlag, readLimit, readSince } from './history-query';
import type { PresenceMember } from './presence-store';
import { ProtocolError } from './protocol-error';

/**
 * The answers to the v1.1 channel queries, shared by the WebSocket requests (`history`,
 * `presence`, `presence_stats`) and the HTTP API (`POST /api/history`, `/api/presence`,
 * `/api/presence_stats`). Authorization is the caller's. @internal
 */

/** `history`: `{offset, epoch, publications}` as JSON text (publications are pre-serialized). */
export async function answerHistory(
  features: ChannelFeatures,
  ref: ChannelRef,
  input: Record<string, unknown>,
  prefix: string,
): Promise<{ offset: number; epoch: string; publications: string[] }> {
  const options = features.options(ref);
  if (options.historySize === 0) {
    throw new ProtocolError(ErrorCode.NotAvailable, `"${ref.name}" keeps no history`);
  }
  const query = {
    limit: readLimit(
      input.limit,
      `${prefix}limit`,
      MAX_HISTORY_LIMIT,
      Math.min(options.historySize, MAX_HISTORY_LIMIT),
    ),
    since: readSince(input.since, `${prefix}since`),
    reverse: readFlag(input.reverse, `${prefix}reverse`),
  };
  return features.history.history(ref.internal, query);
}

/** `presence`: `{clients: {<session id>: {user, node, joined_at, info?}}}`. */
export async function answerPresence(
  features: ChannelFeatures,
  ref: ChannelRef,
): Promise<{ clients: Record<string, Record<string, unknown>> }> {
  requirePresence(features, ref);
  const members = await features.presence.list(ref.internal);
  const clients: Record<string, Record<string, unknown>> = {};
  for (const [id, m] of Object.entries(members)) clients[id] = memberJson(m);
  return { clients };
}

/** `presence_stats`: `{num_clients, num_users}`. */
export async function answerPresenceStats(
  features: ChannelFeatures,
  ref: ChannelRef,
): Promise<{ num_clients: number; num_users: number }> {
  requirePresence(features, ref);
  const s = await features.presence.stats(ref.internal);
  return { num_clients: s.numClients, num_users: s.numUsers };
}

/**
 * JSON text of `{...fields, publications: [...]}` from pre-serialized publications (which are
 * never parsed again). `fields` must not be empty.
 */
export function withPublications(fields: Record<string, unknown>, publications: readonly string[]): string {
  const head = JSON.stringify(fields);
  return `${head.slice(0, -1)},"publications":[${publications.join(',')}]}`;
}

function requirePresence(features: ChannelFeatures, ref: ChannelRef): void {
  if (!features.options(ref).presence) {
    throw new ProtocolError(ErrorCode.NotAvailable, `"${ref.name}" has no presence`);
  }
}

function memberJson(m: PresenceMember): Record<string, unknown> {
  const out: Record<string, unknown> = { user: m.user, node: m.node, joined_at: m.joinedAt };
  if (m.info !== undefined) out.info = m.info;
  return out;
}

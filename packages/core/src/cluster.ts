import { isValidChannelName, isValidTenantId } from './channel-name';
import { CloseCode, ErrorCode } from './constants';
import type { NodeInfo, SessionSelector } from './control-message';
import type { ControlPlane } from './control-plane';
import { ProtocolError } from './protocol-error';

/** Options of {@link Cluster.disconnect}. */
export interface DisconnectOptions {
  /** The close code, 4000-4999. @default 4403 (forbidden: the client does not reconnect by itself) */
  code?: number;
  /** The close reason text (at most 123 bytes). @default the code's reason, e.g. 'forbidden' */
  reason?: string;
}

/** What {@link Cluster.info} resolves with. */
export interface ClusterInfo {
  /** Every live node that answered, this one first. */
  nodes: NodeInfo[];
  /** Live nodes that did not answer in time. */
  missing: string[];
}

/** What {@link Cluster.channels} resolves with. */
export interface ClusterChannels {
  /** Channels with subscribers, by name, with the subscriber count summed over the nodes. */
  channels: Record<string, { num_clients: number }>;
  /** Live nodes that did not answer in time (their subscribers are not counted). */
  missing: string[];
}

/**
 * The whole cluster as one gateway (protocol.md v1.1, "Server API"): acts on sessions wherever
 * they are connected and asks every live node. Commands travel over the scaling backend and
 * reject with `BackendUnavailableError` when it did not accept them; a bad argument rejects with
 * a `ProtocolError` `bad_request`.
 *
 * @example
 * await gateway.cluster.disconnect({ userId: 'u42' })                    // 4403 on every node
 * await gateway.cluster.subscribe({ userId: 'u42', tenantId: 'acme' }, 'alerts')
 * const { nodes } = await gateway.cluster.info()
 */
export class Cluster {
  readonly #plane: ControlPlane;

  /** @internal */
  constructor(plane: ControlPlane) {
    this.#plane = plane;
  }

  /** Closes the sessions `target` names on every node; resolves with how many were on this node. */
  disconnect(target: SessionSelector, options: DisconnectOptions = {}): Promise<number> {
    const code = options.code ?? CloseCode.Forbidden;
    const problems = selectorProblems(target, true);
    if (!Number.isInteger(code) || code < 4000 || code > 4999)
      problems.push('code must be an integer from 4000 to 4999');
    const reason = options.reason ?? (code === CloseCode.Forbidden ? 'forbidden' : '');
    if (typeof reason !== 'string' || Buffer.byteLength(reason) > 123)
      problems.push('reason must be a string of at most 123 bytes');
    if (problems.length > 0) return Promise.reject(badRequest(problems));
    return this.#plane.disconnect(target, code, reason);
  }

  /** Subscribes the sessions `target` names, on every node, to `channel` (a `subscribed` push each). */
  subscribe(target: SessionSelector, channel: string): Promise<void> {
    const problems = [...selectorProblems(target, false), ...channelProblems(channel)];
    if (problems.length > 0) return Promise.reject(badRequest(problems));
    return this.#plane.subscribe(target, channel);
  }

  /** Unsubscribes the sessions `target` names, on every node, from `channel` (an `unsubscribed` push each). */
  unsubscribe(target: SessionSelector, channel: string): Promise<void> {
    const problems = [...selectorProblems(target, false), ...channelProblems(channel)];
    if (problems.length > 0) return Promise.reject(badRequest(problems));
    return this.#plane.unsubscribe(target, channel);
  }

  /** Every live node's figures, asked now (nodes silent for three announcements are not asked). */
  async info(): Promise<ClusterInfo> {
    const { answers, missing } = await this.#plane.info();
    return { nodes: [...answers.values()], missing };
  }

  /** Channels with subscribers anywhere, by name (`pattern`: `*` matches any run), summed over the nodes. */
  async channels(options: { pattern?: string; tenantId?: string | null } = {}): Promise<ClusterChannels> {
    const problems: string[] = [];
    if (
      options.pattern !== undefined &&
      (typeof options.pattern !== 'string' || options.pattern.length > 200)
    ) {
      problems.push('pattern must be a string of at most 200 characters');
    }
    if (options.tenantId != null && !isValidTenantId(options.tenantId))
      problems.push('tenant_id is not a valid tenant id');
    if (problems.length > 0) throw badRequest(problems);
    const { answers, missing } = await this.#plane.channels(options.pattern, options.tenantId);
    const channels: Record<string, { num_clients: number }> = {};
    for (const counts of answers.values()) {
      for (const [name, n] of Object.entries(counts)) {
        const entry = channels[name] ?? { num_clients: 0 };
        entry.num_clients += n;
        channels[name] = entry;
      }
    }
    return { channels, missing };
  }

  /** The nodes heard from lately (from their announcements; no question asked). */
  nodes(): NodeInfo[] {
    return [...this.#plane.liveNodes().values()];
  }
}

/** What is wrong with a session selector (`tenantOnly`: a tenant alone may select). */
export function selectorProblems(target: SessionSelector, tenantOnly: boolean): string[] {
  const t = (target ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const [key, wire] of [
    ['userId', 'user_id'],
    ['sessionId', 'session_id'],
  ] as const) {
    if (
      t[key] !== undefined &&
      (typeof t[key] !== 'string' || (t[key] as string).length === 0 || (t[key] as string).length > 256)
    ) {
      problems.push(`${wire} must be a string of 1-256 characters`);
    }
  }
  if (t.tenantId != null && !isValidTenantId(t.tenantId)) problems.push('tenant_id is not a valid tenant id');
  const named = (t.userId !== undefined ? 1 : 0) + (t.sessionId !== undefined ? 1 : 0);
  if (named > 1) problems.push('name one of user_id and session_id, not both');
  if (named === 0 && !(tenantOnly && t.tenantId != null)) {
    problems.push(tenantOnly ? 'name user_id, session_id or tenant_id' : 'name user_id or session_id');
  }
  return problems;
}

function channelProblems(channel: unknown): string[] {
  return isValidChannelName(channel) ? [] : ['channel must be 1-200 characters of A-Z a-z 0-9 _ - . : @ / ='];
}

function badRequest(problems: string[]): ProtocolError {
  return new ProtocolError(ErrorCode.BadRequest, problems.join('; '));
}

import { randomUUID } from 'node:crypto';
import type { Backend } from './backend';
import { BackendUnavailableError } from './backend-unavailable-error';
import type { ChannelFeatures } from './channel-features';
import { internalChannelName, isValidChannelName, TENANT_CHANNEL_PREFIX } from './channel-name';
import type { ChannelPolicy } from './channel-policy';
import type { ChannelRegistry } from './channel-registry';
import type { Connection } from './connection';
import {
  CONTROL_TOPIC,
  type ControlMessage,
  decodeControl,
  encodeControl,
  type NodeInfo,
  nodeTopic,
  type SessionSelector,
} from './control-message';
import type { Logger } from './logger';
import { ProtocolError } from './protocol-error';
import type { SessionRegistry } from './session-registry';
import type { TopicInterest } from './topic-interest';

/** What the control plane needs of the node. @internal */
export interface ControlPlaneDeps {
  nodeId: string;
  backend: Backend;
  interest: TopicInterest;
  sessions: SessionRegistry<Connection>;
  channels: ChannelRegistry<Connection>;
  features: ChannelFeatures;
  tenantIsolation: boolean;
  channelPolicy: ChannelPolicy;
  maxSubscriptionsPerSession: number;
  /** This node's figures, for announcements and `info`. */
  snapshot: () => NodeInfo;
  onError: (error: unknown, context: string) => void;
  logger: Logger;
  /** How often a node announces itself; silent for three of these, it is dropped. */
  announceIntervalMs: number;
  /** How long a cluster-wide query waits for the nodes' answers. */
  queryTimeoutMs: number;
}

/** What a cluster-wide query gathered: one answer per node, and the live nodes that did not answer in time. */
export interface ClusterAnswers<T> {
  answers: Map<string, T>;
  missing: string[];
}

/** A channel's subscriber count summed over the nodes (`POST /api/channels`). */
export interface ChannelCount {
  num_clients: number;
}

interface PendingQuery {
  expected: Set<string>;
  answers: Map<string, unknown>;
  done: () => void;
}

/**
 * The control plane (protocol.md v1.1, "Server API"): nodes announce themselves on the backend
 * every `announceIntervalMs` (a node silent for three announcements is dropped), and act on
 * each other's commands — disconnect, subscribe and unsubscribe sessions by user, session or
 * tenant — wherever those sessions are connected. Cluster-wide queries (`channels`, `info`)
 * gather the live nodes' answers within `queryTimeoutMs` and name the nodes that did not answer.
 * Control messages travel on their own topics (`control`, and `node:<id>` for answers), apart
 * from every channel, user and tenant topic. @internal
 */
export class ControlPlane {
  readonly #d: ControlPlaneDeps;
  readonly #nodes = new Map<string, { info: NodeInfo; seenAt: number }>();
  readonly #queries = new Map<string, PendingQuery>();
  #timer: NodeJS.Timeout | null = null;

  constructor(deps: ControlPlaneDeps) {
    this.#d = deps;
  }

  /** Subscribes the control topics and starts announcing. */
  async start(): Promise<void> {
    const d = this.#d;
    await d.interest.need(CONTROL_TOPIC);
    await d.interest.need(nodeTopic(d.nodeId));
    this.#announce();
    this.#timer = setInterval(() => this.#announce(), d.announceIntervalMs);
    this.#timer.unref();
  }

  /** Stops announcing; pending queries end with what they have. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const q of this.#queries.values()) q.done();
  }

  /** True for the topics this plane owns. */
  owns(topic: string): boolean {
    return topic === CONTROL_TOPIC || topic === nodeTopic(this.#d.nodeId);
  }

  /** The nodes heard from within three announcement intervals (this one included), by id. */
  liveNodes(): Map<string, NodeInfo> {
    const d = this.#d;
    this.#forgetSilent();
    const out = new Map<string, NodeInfo>([[d.nodeId, d.snapshot()]]);
    for (const [id, n] of this.#nodes) if (id !== d.nodeId) out.set(id, n.info);
    return out;
  }

  /** Drops the nodes silent for three announcement intervals. */
  #forgetSilent(): void {
    const now = Date.now();
    const limit = 3 * this.#d.announceIntervalMs;
    for (const [id, n] of this.#nodes) if (now - n.seenAt > limit) this.#nodes.delete(id);
  }

  /** Closes the matching sessions on every node. Resolves with how many were closed here. */
  async disconnect(target: SessionSelector, code: number, reason: string): Promise<number> {
    const n = this.#applyDisconnect(target, code, reason);
    await this.#send({ t: 'disconnect', origin: this.#d.nodeId, target, code, reason });
    return n;
  }

  /** Subscribes the matching sessions on every node to `channel` (each gets a `subscribed` push). */
  async subscribe(target: SessionSelector, channel: string): Promise<void> {
    await this.#send({ t: 'subscribe', origin: this.#d.nodeId, target, channel });
    await this.#applySubscribe(target, channel);
  }

  /** Unsubscribes the matching sessions on every node from `channel` (each gets `unsubscribed`). */
  async unsubscribe(target: SessionSelector, channel: string): Promise<void> {
    await this.#send({ t: 'unsubscribe', origin: this.#d.nodeId, target, channel });
    this.#applyUnsubscribe(target, channel);
  }

  /** Every live node's figures, asked now. */
  info(): Promise<ClusterAnswers<NodeInfo>> {
    return this.#query<NodeInfo>({ what: 'info' });
  }

  /** Channels with subscribers on every live node, by name, matching `pattern` (`*` any run). */
  channels(
    pattern: string | undefined,
    tenantId: string | null | undefined,
  ): Promise<ClusterAnswers<Record<string, number>>> {
    return this.#query<Record<string, number>>({ what: 'channels', pattern, tenantId });
  }

  /** A payload on a control topic. Never throws. */
  receive(payload: Uint8Array): void {
    const d = this.#d;
    let m: ControlMessage;
    try {
      m = decodeControl(payload);
    } catch (error) {
      d.onError(error, 'control receive');
      return;
    }
    if (m.origin === d.nodeId) return;
    switch (m.t) {
      case 'announce':
        this.#nodes.set(m.origin, { info: m.node, seenAt: Date.now() });
        return;
      case 'disconnect':
        this.#applyDisconnect(m.target, m.code, m.reason);
        return;
      case 'subscribe':
        void this.#applySubscribe(m.target, m.channel);
        return;
      case 'unsubscribe':
        this.#applyUnsubscribe(m.target, m.channel);
        return;
      case 'query':
        this.#send(
          { t: 'reply', origin: d.nodeId, id: m.id, result: this.#answer(m.what, m.pattern, m.tenantId) },
          nodeTopic(m.origin),
        ).catch((error: unknown) => d.onError(error, 'control reply'));
        return;
      case 'reply': {
        const q = this.#queries.get(m.id);
        if (q === undefined) return;
        q.answers.set(m.origin, m.result);
        if ([...q.expected].every((id) => q.answers.has(id))) q.done();
        return;
      }
    }
  }

  async #query<T>(ask: {
    what: 'channels' | 'info';
    pattern?: string;
    tenantId?: string | null;
  }): Promise<ClusterAnswers<T>> {
    const d = this.#d;
    const id = randomUUID();
    this.#forgetSilent();
    const expected = new Set([d.nodeId, ...this.#nodes.keys()]);
    const answers = new Map<string, unknown>([[d.nodeId, this.#answer(ask.what, ask.pattern, ask.tenantId)]]);
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const q: PendingQuery = { expected, answers, done };
    this.#queries.set(id, q);
    const timer = setTimeout(done, d.queryTimeoutMs);
    try {
      if (expected.size > 1) {
        await this.#send({
          t: 'query',
          origin: d.nodeId,
          id,
          what: ask.what,
          pattern: ask.pattern,
          tenantId: ask.tenantId,
        });
        await finished;
      }
    } finally {
      clearTimeout(timer);
      this.#queries.delete(id);
    }
    return {
      answers: answers as Map<string, T>,
      missing: [...expected].filter((n) => !answers.has(n)).sort(),
    };
  }

  #answer(
    what: 'channels' | 'info',
    pattern: string | undefined,
    tenantId: string | null | undefined,
  ): unknown {
    if (what === 'info') return this.#d.snapshot();
    const out: Record<string, number> = {};
    const match = pattern === undefined ? null : globRegExp(pattern);
    const prefix = tenantId == null ? null : `${TENANT_CHANNEL_PREFIX}${tenantId}:`;
    for (const [internal, count] of this.#d.channels.counts()) {
      let name = internal;
      if (prefix !== null) {
        if (!internal.startsWith(prefix)) continue;
        name = internal.slice(prefix.length);
      }
      if (match !== null && !match.test(name)) continue;
      out[name] = count;
    }
    return out;
  }

  #send(message: ControlMessage, topic = CONTROL_TOPIC): Promise<void> {
    return this.#d.backend.publish(topic, encodeControl(message)).catch((error: unknown) => {
      throw error instanceof BackendUnavailableError
        ? error
        : new BackendUnavailableError('the scaling backend did not accept the command', { cause: error });
    });
  }

  #announce(): void {
    const d = this.#d;
    this.#forgetSilent();
    this.#send({ t: 'announce', origin: d.nodeId, node: d.snapshot() }).catch(() => {
      // The backend reports its outage; the next announcement tries again.
    });
  }

  #matching(target: SessionSelector): Connection[] {
    const s = this.#d.sessions;
    const tenant = target.tenantId;
    let found: Iterable<Connection>;
    if (target.sessionId !== undefined) {
      const c = s.get(target.sessionId);
      found = c === undefined ? [] : [c];
    } else if (target.userId !== undefined) found = s.byUser(target.userId);
    else if (tenant != null) found = s.byTenant(tenant);
    else return [];
    const out: Connection[] = [];
    for (const c of found) {
      if (target.userId !== undefined && c.userId !== target.userId) continue;
      if (tenant !== undefined && c.tenantId !== tenant) continue;
      out.push(c);
    }
    return out;
  }

  #applyDisconnect(target: SessionSelector, code: number, reason: string): number {
    const matched = this.#matching(target);
    for (const c of matched) c.close(code, reason);
    return matched.length;
  }

  /**
   * Subscribes one session to the channels its token names (its `channels` claim), each only
   * when the channel name is valid and the channel policy allows it; others are skipped (logged
   * at debug). Never rejects.
   */
  async subscribeClaimed(c: Connection, channels: readonly string[]): Promise<void> {
    const d = this.#d;
    for (const channel of channels.slice(0, d.maxSubscriptionsPerSession)) {
      if (!isValidChannelName(channel)) {
        // The token's issuer named it: a line for the operator, not a fault of the gateway.
        d.logger.debug(
          { session_id: c.sessionId, channel: String(channel).slice(0, 200) },
          'token channel skipped: not a valid channel name',
        );
        continue;
      }
      await this.#subscribeOne(c, channel, true);
    }
  }

  async #applySubscribe(target: SessionSelector, channel: string): Promise<void> {
    await Promise.all(this.#matching(target).map((c) => this.#subscribeOne(c, channel, false)));
  }

  /** Subscribes `c` server-side (a `subscribed` push), checking the channel policy when asked. */
  async #subscribeOne(c: Connection, channel: string, checkPolicy: boolean): Promise<void> {
    const d = this.#d;
    if (c.subscriptions.has(channel)) return;
    if (c.subscriptions.size >= d.maxSubscriptionsPerSession) {
      d.logger.debug(
        { session_id: c.sessionId, channel },
        'server subscribe skipped: the session holds its maximum of channels',
      );
      return;
    }
    const ref = {
      name: channel,
      internal: internalChannelName(channel, c.tenantId, d.tenantIsolation),
      tenantId: c.tenantId,
    };
    try {
      if (checkPolicy && !(await d.channelPolicy.canSubscribe(c.session, ref))) return;
      await d.features.subscribe(c, ref, null, (fields) =>
        c.session.send({ type: 'subscribed', channel, data: fields }),
      );
    } catch (error) {
      // A refusal (presence_full, backend_unavailable) is the channel's answer, not a fault.
      if (error instanceof ProtocolError) {
        d.logger.debug({ session_id: c.sessionId, channel, code: error.code }, 'server subscribe refused');
      } else d.onError(error, 'server subscribe');
    }
  }

  #applyUnsubscribe(target: SessionSelector, channel: string): void {
    for (const c of this.#matching(target)) {
      const internal = c.subscriptions.get(channel);
      if (internal === undefined) continue;
      this.#d.features.unsubscribe(c, channel, internal);
      c.session.send({ type: 'unsubscribed', channel, data: { reason: 'server' } });
    }
  }
}

/** A `*` glob as an anchored regular expression. */
function globRegExp(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
  );
}

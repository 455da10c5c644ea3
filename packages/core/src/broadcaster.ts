import type { Backend } from './backend';
import { BackendUnavailableError, NOT_ACCEPTED_MESSAGE } from './backend-unavailable-error';
import {
  type BroadcastTarget,
  decodeEnvelope,
  type EnvelopeHeader,
  encodeEnvelope,
  topicFor,
} from './broadcast-envelope';
import type { ChannelRegistry } from './channel-registry';
import type { Connection } from './connection';
import type { HookRunner } from './hook-runner';
import { promiseTry } from './promise-try';
import type { SessionRegistry } from './session-registry';
import type { GatewayCounters } from './stats';
import { encodeTextFrame } from './websocket-frame';

/** What the broadcaster needs from the gateway. @internal */
export interface BroadcasterDeps {
  nodeId: string;
  backend: Backend;
  sessions: SessionRegistry<Connection>;
  channels: ChannelRegistry<Connection>;
  counters: GatewayCounters;
  hooks: HookRunner;
  /** May this session receive tenant-wide and everyone broadcasts (false before a required auth)? */
  eligible: (connection: Connection) => boolean;
  onError: (error: unknown, context: string) => void;
}

/**
 * Turns a broadcast into one serialized frame, hands it to the local sessions it targets and
 * publishes it once on the backend; delivers what other nodes publish to local sessions.
 * @internal
 */
export class Broadcaster {
  readonly #d: BroadcasterDeps;

  constructor(deps: BroadcasterDeps) {
    this.#d = deps;
  }

  /**
   * Broadcasts `{type, channel?, data}` to `target` on every node. Local sessions get it at
   * once; resolves with their number once the backend has accepted it. When the backend did not
   * accept it, rejects with a {@link BackendUnavailableError} carrying that number
   * (`deliveredLocal`): local delivery stands, the other nodes did not get it.
   */
  publish(target: BroadcastTarget, type: string, data: unknown): Promise<number> {
    return promiseTry(() => this.send(target, type, data));
  }

  /**
   * {@link publish} without a promise where none is needed: returns the local count at once when
   * no other node can receive the broadcast (a single node on the memory backend), else a promise
   * of it that settles as {@link publish}'s does. Throws what serializing `data` throws. The
   * router's path for a client's `publish`, where a promise per message is measurable.
   */
  send(target: BroadcastTarget, type: string, data: unknown): number | Promise<number> {
    const d = this.#d;
    // The one serialization of this broadcast: every session and every node gets these bytes.
    const frame = Buffer.from(
      JSON.stringify(
        target.kind === 'channel'
          ? { type, channel: target.name, data: data ?? null }
          : { type, data: data ?? null },
      ),
    );
    d.counters.broadcasts_published++;
    const ts = Date.now();
    // Asked before local delivery: a span the hook starts here covers the whole broadcast.
    const traceparent = d.hooks.currentTraceparent();
    const delivered = this.deliverLocal(target, frame);
    if (d.hooks.wantsBroadcasts)
      d.hooks.onBroadcast({ target, type, delivered, origin: 'local', publishedAt: ts, traceparent });
    const topic = topicFor(target);
    // No other node can receive it (a single node on the memory backend): nothing to send.
    if (d.backend.reachesNoOtherNode?.(topic) === true) return delivered;
    const header: EnvelopeHeader = { v: 1, origin: d.nodeId, ts, target, type };
    if (traceparent !== undefined) header.traceparent = traceparent;
    return promiseTry(() => this.#backendPublish(topic, header, encodeEnvelope(header, frame))).then(
      () => delivered,
      (error: unknown) => {
        d.counters.backend_errors++;
        // An outage is the backend's to log (once); anything else is unexpected and logged here.
        if (!(error instanceof BackendUnavailableError)) d.onError(error, 'backend publish');
        throw new BackendUnavailableError(NOT_ACCEPTED_MESSAGE, {
          retryAfterMs: error instanceof BackendUnavailableError ? error.retryAfterMs : undefined,
          deliveredLocal: delivered,
          cause: error,
        });
      },
    );
  }

  /** Handles a payload from the backend. Never throws into the backend: failures are reported. */
  receive(topic: string, payload: Uint8Array): void {
    const d = this.#d;
    let decoded: ReturnType<typeof decodeEnvelope>;
    try {
      decoded = decodeEnvelope(payload);
    } catch (error) {
      d.counters.backend_errors++;
      d.onError(error, 'backend receive');
      return;
    }
    const { header, frame } = decoded;
    // The node's own echo: delivered locally when it was published. Dropped here, once.
    if (header.origin === d.nodeId) return;
    d.counters.broadcasts_received++;
    const around = d.hooks.hooks?.aroundRemoteDelivery;
    if (around === undefined) {
      this.#deliverRemote(header, frame);
      return;
    }
    let done = false;
    const deliver = () => {
      if (done) return;
      done = true;
      this.#deliverRemote(header, frame);
    };
    try {
      around.call(d.hooks.hooks, header, topic, payload.byteLength, deliver);
    } catch (error) {
      d.hooks.hookThrew('aroundRemoteDelivery', error);
    }
    deliver();
  }

  /** Delivers another node's broadcast to local sessions, then tells `onBroadcast`. */
  #deliverRemote(header: EnvelopeHeader, frame: Buffer): void {
    const d = this.#d;
    let delivered: number;
    try {
      delivered = this.deliverLocal(header.target, frame);
    } catch (error) {
      d.onError(error, 'backend receive');
      return;
    }
    if (d.hooks.wantsBroadcasts)
      d.hooks.onBroadcast({
        target: header.target,
        type: header.type,
        delivered,
        origin: 'remote',
        publishedAt: header.ts,
        traceparent: header.traceparent,
      });
  }

  /** Publishes an envelope on the backend, through `aroundBackendPublish` when it is set. */
  #backendPublish(topic: string, header: EnvelopeHeader, envelope: Buffer): Promise<void> {
    const d = this.#d;
    const hooks = d.hooks.hooks;
    const around = hooks?.aroundBackendPublish;
    if (around === undefined) return d.backend.publish(topic, envelope);
    let published: Promise<void> | undefined;
    const publish = () => {
      published ??= d.backend.publish(topic, envelope);
      return published;
    };
    try {
      return Promise.resolve(around.call(hooks, header, topic, envelope.length, publish)).then(() =>
        publish(),
      );
    } catch (error) {
      // A hook that throws must not lose the broadcast: publish without it.
      d.hooks.hookThrew('aroundBackendPublish', error);
      return publish();
    }
  }

  /** Hands `payload` to every local session `target` names; returns how many took it. */
  deliverLocal(target: BroadcastTarget, payload: Buffer): number {
    const d = this.#d;
    const tenant = 'tenantId' in target ? (target.tenantId ?? null) : null;
    let recipients: Iterable<Connection>;
    let filter: ((c: Connection) => boolean) | null = null;
    switch (target.kind) {
      case 'channel':
        recipients = d.channels.subscribers(target.channel);
        break;
      case 'user':
        recipients = d.sessions.byUser(target.userId);
        break;
      case 'tenant':
        recipients = d.sessions.byTenant(target.tenantId);
        filter = d.eligible;
        break;
      case 'role':
        recipients = d.sessions.byRole(target.role);
        break;
      case 'permission':
        recipients = d.sessions.byPermission(target.permission);
        break;
      case 'all':
        recipients = tenant === null ? d.sessions.all() : d.sessions.byTenant(tenant);
        filter = d.eligible;
        break;
      default:
        return 0;
    }
    // Framed once; every recipient's socket gets the same bytes.
    let frame: Buffer | undefined;
    let delivered = 0;
    const channel = target.kind === 'channel' ? target.channel : null;
    for (const s of recipients) {
      if (tenant !== null && s.tenantId !== tenant) continue;
      // A session whose subscribe is still being answered gets nothing of the channel before the ack.
      if (channel !== null && s.holds?.has(channel)) continue;
      if (filter !== null && !filter(s)) continue;
      frame ??= encodeTextFrame(payload);
      if (s.writeFramed(frame)) delivered++;
    }
    d.counters.deliveries += delivered;
    d.counters.messages_sent += delivered;
    d.counters.bytes_sent += delivered * payload.length;
    return delivered;
  }
}

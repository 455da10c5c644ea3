import type { Publication, SinceOffset, SubscribeAckData } from '@dotmac-ws/client';
import { nowUs } from './clock';
import { ConnectFailure, type LoadConnection } from './connection';
import { delay } from './paced';
import { decodePayload } from './payload';
import type { DeliveryCounts, SequenceTracker } from './sequence-tracker';

/** Reconnection attempts of one outage before the subscriber gives up. */
export const MAX_RECONNECT_ATTEMPTS = 50;
/** Live deliveries held while a recovering `subscribe` is unanswered; more are dropped. */
const MAX_HELD = 100_000;

/** One lost connection of a recovering subscriber and how it ended. */
export interface Outage {
  /** When the connection was lost (monotonic microseconds). */
  lostUs: number;
  /** When the recovering `subscribe` was answered; null while, or if never, recovered. */
  recoveredUs: number | null;
  /** True when the server honoured `since` (`recovered: true`); false for a resync. */
  recovered: boolean;
  /** Reconnection attempts it took. */
  attempts: number;
}

/** What a shard lends its recovering subscribers. */
export interface RecoveryHost {
  /** Reconnection bounds: first jitter bound, its cap, and the give-up time, in ms. */
  readonly reconnectDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly recoveryTimeoutMs: number;
  /** Time allowed for a `subscribe` to be answered, in ms. */
  readonly replyTimeoutMs: number;
  /** URLs a subscriber moves through, one further at each attempt. */
  readonly urlCount: number;
  /** The shard's delivery counters, which the sequence trackers add to. */
  readonly counts: DeliveryCounts;
  /** Aborts when the run stops: waits end, no new attempt starts. */
  readonly stopped: AbortSignal;
  /** Opens a positioned connection for subscriber `index` to URL `urlIndex`; rejects with {@link ConnectFailure}. */
  reconnect(index: number, urlIndex: number): Promise<LoadConnection>;
  /** The connection is no longer the subscriber's (closed or given up). */
  forget(conn: LoadConnection): void;
  /** A delivery was accepted: its latency, the shared counter, the URL's count. */
  delivered(sentUs: number, urlIndex: number): void;
  /** Counts an event by code: `misrouted`, `no_offset`, an error frame's code. */
  error(code: string): void;
  /** Counts a failed reconnection attempt by reason (`ECONNREFUSED`, `subscribe_timeout`…). */
  attemptFailed(reason: string): void;
  /** Counts deliveries dropped because their offset was not above the last one taken. */
  droppedByOffset(): void;
  /** Counts publications taken from a recovering `subscribe` ack. */
  recoveredPublication(): void;
}

/** A live delivery that came before the recovering `subscribe` was answered. */
interface Held {
  publisher: number;
  channel: number;
  seq: number;
  sentUs: number;
  offset: number;
}

type Reply = { code: string | null; data: unknown };

/**
 * A subscriber that keeps its channel's position (`{offset, epoch}`) and, when its connection
 * is lost, reconnects (full-jitter exponential backoff, bounded in attempts and time) to the
 * next URL of its list and subscribes again with `since`: it takes the ack's publications,
 * then the live deliveries, dropping any whose offset it already has.
 */
export class RecoveringSubscriber {
  /** Every outage, in order. */
  readonly outages: Outage[] = [];
  readonly #host: RecoveryHost;
  readonly #trackers: SequenceTracker[];
  #conn: LoadConnection | null = null;
  #urlIndex: number;
  #offset = -1;
  #epoch = '';
  #held: Held[] | null = null;
  #task: Promise<void> = Promise.resolve();

  /**
   * @param index - the connection number (its token, its source address)
   * @param channel - the channel index and name it follows
   * @param urlIndex - the URL of its first connection
   * @param trackers - one sequence tracker per publisher
   */
  constructor(
    host: RecoveryHost,
    readonly index: number,
    readonly channel: number,
    readonly channelName: string,
    urlIndex: number,
    trackers: SequenceTracker[],
  ) {
    this.#host = host;
    this.#urlIndex = urlIndex;
    this.#trackers = trackers;
  }

  /** The sequence trackers, one per publisher. */
  get trackers(): readonly SequenceTracker[] {
    return this.#trackers;
  }

  /** The current recovery, or a settled promise; never rejects. */
  get settled(): Promise<void> {
    return this.#task;
  }

  /**
   * Subscribes on a first connection and takes the channel's position from the ack. Resolves
   * with null, or the reason it failed (`no_history` when the ack carries no position).
   */
  async begin(conn: LoadConnection): Promise<string | null> {
    this.#held = [];
    this.#take(conn);
    const reply = await this.#subscribe(conn, undefined);
    if (reply.code !== null) return reply.code;
    const ack = reply.data as SubscribeAckData | undefined;
    if (typeof ack?.offset !== 'number' || typeof ack.epoch !== 'string') return 'no_history';
    this.#offset = ack.offset;
    this.#epoch = ack.epoch;
    this.#release();
    return null;
  }

  /** Drops the connection without a close handshake (a network blip) and recovers. */
  drop(): void {
    const conn = this.#conn;
    if (conn === null) return;
    conn.terminate();
    this.#lost(conn);
  }

  /** Closes the connection, if any (the end of the run). */
  close(): void {
    this.#conn?.close();
  }

  /** Makes `conn` this subscriber's: deliveries, error frames and its close. */
  #take(conn: LoadConnection): void {
    this.#conn = conn;
    const urlIndex = this.#urlIndex;
    conn.onPayload = (p, offset) => {
      const held = this.#held;
      if (held === null) this.#accept(p.publisher, p.channel, p.seq, p.sentUs, offset, urlIndex);
      else if (held.length < MAX_HELD)
        held.push({ publisher: p.publisher, channel: p.channel, seq: p.seq, sentUs: p.sentUs, offset });
      else this.#host.error('held_overflow');
    };
    conn.onErrorFrame = (code) => this.#host.error(code);
    // Until the subscribe is answered a close fails the request instead (see #subscribe).
    conn.onClose = null;
  }

  /** The `subscribe` was answered: live deliveries flow, a close starts a recovery. */
  #release(): void {
    const conn = this.#conn!;
    const held = this.#held ?? [];
    this.#held = null;
    for (const h of held) this.#accept(h.publisher, h.channel, h.seq, h.sentUs, h.offset, this.#urlIndex);
    conn.onClose = () => this.#lost(conn);
    if (!conn.open) this.#lost(conn);
  }

  /** One delivery, live or recovered: dropped when its offset is not above the last one taken. */
  #accept(publisher: number, channel: number, seq: number, sentUs: number, offset: number, urlIndex: number) {
    const host = this.#host;
    if (offset < 0) host.error('no_offset');
    else if (offset <= this.#offset) {
      host.droppedByOffset();
      return;
    } else this.#offset = offset;
    host.delivered(sentUs, urlIndex);
    const tracker = this.#trackers[publisher];
    if (tracker === undefined || channel !== this.channel) {
      host.error('misrouted');
      return;
    }
    tracker.record(seq, host.counts);
  }

  #lost(conn: LoadConnection): void {
    if (this.#conn !== conn) return;
    this.#conn = null;
    conn.onPayload = null;
    conn.onClose = null;
    this.#host.forget(conn);
    const outage: Outage = { lostUs: nowUs(), recoveredUs: null, recovered: false, attempts: 0 };
    this.outages.push(outage);
    this.#task = this.#recover(outage).catch((error: unknown) => {
      this.#host.attemptFailed(`error_${error instanceof Error ? error.name : 'unknown'}`);
    });
  }

  /** Reconnects and resubscribes with `since` until answered, the time is up or the run stops. */
  async #recover(outage: Outage): Promise<void> {
    const host = this.#host;
    const deadline = Date.now() + host.recoveryTimeoutMs;
    let bound = host.reconnectDelayMs;
    for (let attempt = 0; attempt < MAX_RECONNECT_ATTEMPTS; attempt++) {
      const wait = Math.min(Math.random() * bound, deadline - Date.now());
      if (wait > 0) await delay(wait, host.stopped);
      if (host.stopped.aborted || Date.now() >= deadline) return;
      bound = Math.min(bound * 2, host.reconnectMaxDelayMs);
      this.#urlIndex = (this.#urlIndex + 1) % host.urlCount;
      outage.attempts++;
      let conn: LoadConnection;
      try {
        conn = await host.reconnect(this.index, this.#urlIndex);
      } catch (error) {
        host.attemptFailed(error instanceof ConnectFailure ? error.reason : 'error');
        continue;
      }
      this.#held = [];
      this.#take(conn);
      const reply = await this.#subscribe(conn, { offset: this.#offset, epoch: this.#epoch });
      const ack = reply.data as SubscribeAckData | undefined;
      if (reply.code !== null || typeof ack?.offset !== 'number' || typeof ack.epoch !== 'string') {
        host.attemptFailed(`subscribe_${reply.code ?? 'no_position'}`);
        this.#conn = null;
        this.#held = null;
        conn.onPayload = null;
        conn.close();
        host.forget(conn);
        continue;
      }
      outage.recoveredUs = nowUs();
      outage.recovered = ack.recovered === true;
      if (outage.recovered) this.#replay(ack.publications ?? []);
      // After a resync (recovered: false) the client carries on from the new position.
      if (ack.offset > this.#offset || !outage.recovered) this.#offset = ack.offset;
      this.#epoch = ack.epoch;
      this.#release();
      return;
    }
  }

  /** The publications of a recovering ack, in order, as deliveries. */
  #replay(publications: readonly Publication[]): void {
    for (const pub of publications) {
      const p = typeof pub.data === 'string' ? decodePayload(Buffer.from(pub.data)) : null;
      if (p === null || typeof pub.offset !== 'number') {
        this.#host.error('bad_publication');
        continue;
      }
      this.#host.recoveredPublication();
      this.#accept(p.publisher, p.channel, p.seq, p.sentUs, pub.offset, this.#urlIndex);
    }
  }

  /** Sends `subscribe` (with `since` when given); a reply that does not come in time is `timeout`. */
  #subscribe(conn: LoadConnection, since: SinceOffset | undefined): Promise<Reply> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve({ code: 'timeout', data: undefined });
        conn.terminate();
      }, this.#host.replyTimeoutMs);
      conn.subscribe(
        this.channelName,
        (code, data) => {
          clearTimeout(timer);
          resolve({ code, data });
        },
        since,
      );
    });
  }
}

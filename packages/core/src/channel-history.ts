import type { Backend } from './backend';
import { BackendUnavailableError } from './backend-unavailable-error';
import {
  type BroadcastTarget,
  channelTopic,
  decodeEnvelope,
  type EnvelopeHeader,
  encodeEnvelope,
} from './broadcast-envelope';
import { CHANNEL_OPTION_DEFAULTS, type ResolvedChannelOptions } from './channel-options';
import type { ChannelRef } from './channel-policy';
import type { ChannelRegistry } from './channel-registry';
import { ChannelSequencer, type SequencedPublication } from './channel-sequencer';
import type { Connection } from './connection';
import { CloseCode } from './constants';
import { channelFrame, frameWithOffset, publicationJson } from './history-frames';
import type { AppendResult, HistoryReadResult, HistoryStore } from './history-store';
import type { HookRunner } from './hook-runner';
import { decodePositioned, encodePositioned } from './positioned-payload';
import { SingleFlight } from './single-flight';
import type { GatewayCounters } from './stats';
import type { StreamPosition } from './stream-position';
import { encodeTextFrame } from './websocket-frame';

/** What channel history needs of the node. @internal */
export interface ChannelHistoryDeps {
  nodeId: string;
  store: HistoryStore;
  backend: Backend;
  channels: ChannelRegistry<Connection>;
  counters: GatewayCounters;
  hooks: HookRunner;
  onError: (error: unknown, context: string) => void;
  /** How long a hole in a channel's offsets waits before it is read from the store. */
  gapWaitMs: number;
}

/** What a publish in a channel with history resolves with. @internal */
export interface HistoryPublishResult extends StreamPosition {
  /** The idempotency key was seen before: nothing was delivered again. */
  duplicate: boolean;
  /** Local sessions subscribed to the channel (they get it, in offset order). */
  delivered: number;
}

/** A `history` read as the protocol answers it. @internal */
export interface HistoryAnswer extends StreamPosition {
  /** JSON texts of `{type, data, offset}`, in the order asked. */
  publications: string[];
}

/** Deliveries held for a session while its subscribe is being answered. @internal */
export interface HeldDeliveries {
  pubs: SequencedPublication[];
}

/** One publication of an answer: its offset and its `{type, data, offset}` JSON text. @internal */
export interface AnswerEntry {
  offset: number;
  json: string;
  /** The publication as a delivery frame (for a subscribe sent without an id, which gets no ack). */
  frame(): Buffer;
}

/** Deliveries a session may have held for one subscribe before it is closed as a slow consumer. */
const MAX_HELD = 10_000;
/** Publications a node reads when it starts tracking a channel, so that recoveries from just before are answered from memory. */
const SEEDED_RECENT = 64;

/** The most publications one `history` request returns. */
export const MAX_HISTORY_LIMIT = 1000;

/**
 * History and recovery of channels (protocol.md v1.1): numbers publications through the
 * {@link HistoryStore}, keeps each node's deliveries in offset order ({@link ChannelSequencer}),
 * answers a `subscribe` with its position or with the publications a client missed (holding the
 * live ones meanwhile, so that nothing is missed or repeated between the two), and answers
 * `history` reads. Identical concurrent reads share one store call. @internal
 */
export class ChannelHistory {
  readonly #d: ChannelHistoryDeps;
  readonly #sequencer: ChannelSequencer;
  readonly #reads = new SingleFlight<HistoryReadResult>();

  constructor(deps: ChannelHistoryDeps) {
    this.#d = deps;
    this.#sequencer = new ChannelSequencer({
      start: async (channel) => {
        const read = await deps.store.read(channel, { limit: SEEDED_RECENT, reverse: true });
        const position = { offset: read.offset, epoch: read.epoch };
        const last = read.publications.map((p) =>
          this.#sequenced(p.body, { offset: p.offset, epoch: read.epoch }),
        );
        return { position, last: last.reverse() };
      },
      fill: async (channel, after, limit) => {
        const read = await deps.store.read(channel, { after, limit });
        return read.publications.map((p) => this.#sequenced(p.body, { offset: p.offset, epoch: read.epoch }));
      },
      deliver: (channel, pub) => this.#deliverLocal(channel, pub),
      onError: deps.onError,
      gapWaitMs: deps.gapWaitMs,
    });
  }

  /** Counters for stats: duplicates dropped, publications skipped, reads merged. */
  stats(): Record<string, number> {
    return {
      history_duplicates_dropped: this.#sequencer.duplicates,
      history_publications_skipped: this.#sequencer.skipped,
      history_reads_merged: this.#reads.merged,
      history_channels_tracked: this.#sequencer.size,
    };
  }

  /**
   * Publishes in a channel with history: the store numbers it (and, when it fans out, delivers
   * it to every node); otherwise it is published on the backend here. Local sessions get it in
   * offset order. Rejects with a {@link BackendUnavailableError} when the store or the backend
   * did not take it.
   */
  async publish(
    ref: ChannelRef,
    options: ResolvedChannelOptions,
    type: string,
    data: unknown,
    idempotencyKey: string | undefined,
  ): Promise<HistoryPublishResult> {
    const d = this.#d;
    const target: BroadcastTarget = { kind: 'channel', channel: ref.internal, name: ref.name };
    const { frame, splice } = channelFrame(type, ref.name, data);
    const ts = Date.now();
    const header: EnvelopeHeader = { v: 1, origin: d.nodeId, ts, target, type, fh: splice };
    const traceparent = d.hooks.currentTraceparent();
    if (traceparent !== undefined) header.traceparent = traceparent;
    const body = encodeEnvelope(header, frame);
    const topic = channelTopic(ref.internal);
    d.counters.broadcasts_published++;
    let appended: AppendResult;
    try {
      appended = await d.store.append({
        channel: ref.internal,
        body,
        size: options.historySize,
        ttlMs: options.historyTtlMs,
        topic,
        idempotencyKey,
        idempotencyTtlMs: Math.max(options.historyTtlMs, CHANNEL_OPTION_DEFAULTS.minIdempotencyTtlMs),
      });
    } catch (error) {
      throw this.#unavailable(error, 0);
    }
    const position = { offset: appended.offset, epoch: appended.epoch };
    if (appended.duplicate) return { ...position, duplicate: true, delivered: 0 };
    const delivered = d.channels.subscribers(ref.internal).size;
    this.#sequencer.accept(ref.internal, {
      ...position,
      body,
      frame: frameWithOffset(frame, splice, appended.offset),
    });
    if (d.hooks.wantsBroadcasts)
      d.hooks.onBroadcast({ target, type, delivered, origin: 'local', publishedAt: ts, traceparent });
    if (!d.store.fansOut && d.backend.reachesNoOtherNode?.(topic) !== true) {
      try {
        await d.backend.publish(topic, encodePositioned(position, body));
      } catch (error) {
        // Numbered and stored: nodes read it from the store at their next hole, clients recover it.
        throw this.#unavailable(error, delivered);
      }
    }
    return { ...position, duplicate: false, delivered };
  }

  /** Takes a positioned payload from the backend. Never throws. */
  receive(payload: Uint8Array): void {
    const d = this.#d;
    let pub: SequencedPublication;
    let header: EnvelopeHeader;
    try {
      const { position, body } = decodePositioned(payload);
      const decoded = decodeEnvelope(body);
      header = decoded.header;
      if (header.target.kind !== 'channel' || header.fh === undefined)
        throw new TypeError('a positioned payload must be a channel publication');
      pub = { ...position, body, frame: frameWithOffset(decoded.frame, header.fh, position.offset) };
    } catch (error) {
      d.counters.backend_errors++;
      d.onError(error, 'backend receive');
      return;
    }
    const channel = header.target.channel;
    if (header.origin !== d.nodeId) d.counters.broadcasts_received++;
    if (!this.#sequencer.accept(channel, pub)) this.#deliverLocal(channel, pub);
    if (header.origin !== d.nodeId) {
      if (d.hooks.wantsBroadcasts)
        d.hooks.onBroadcast({
          target: header.target,
          type: header.type,
          delivered: d.channels.subscribers(channel).size,
          origin: 'remote',
          publishedAt: header.ts,
          traceparent: header.traceparent,
        });
    }
  }

  /**
   * Subscribes `connection` to a channel with history and answers: its position, and with
   * `since` (or `recovery: cache`) the publications it missed. Live deliveries that arrive
   * meanwhile are held and sent after the answer, above its position. `ack` receives the ack's
   * extra fields and the publication texts; without a request id the publications are sent as
   * deliveries instead.
   */
  async subscribe(
    connection: Connection,
    ref: ChannelRef,
    options: ResolvedChannelOptions,
    since: StreamPosition | null,
    answer: (fields: Record<string, unknown>, publications: AnswerEntry[] | null) => void,
    join: (connection: Connection) => Promise<void>,
  ): Promise<void> {
    const channel = ref.internal;
    const held: HeldDeliveries = { pubs: [] };
    connection.holds ??= new Map();
    connection.holds.set(channel, held);
    const d = this.#d;
    try {
      await join(connection);
      await this.#sequencer.track(channel);
      const recovering = since !== null || options.recovery === 'cache';
      // Identical reads are shared whenever they started; what the node delivered after a shared
      // read's top (before or during this session's hold) is added from the node's own recent
      // deliveries, and if it no longer keeps them, read again.
      const cacheMode = options.recovery === 'cache';
      const query = cacheMode
        ? { limit: 1, reverse: true }
        : since === null
          ? null
          : { after: since.offset, limit: options.maxRecoveryPublications };
      // A recovery from just before (what this node still keeps) is answered from memory.
      const before = this.#sequencer.position(channel);
      const kept =
        since !== null &&
        !cacheMode &&
        before !== null &&
        since.epoch === before.epoch &&
        since.offset <= before.offset
          ? this.#sequencer.recentBetween(channel, before.epoch, since.offset, before.offset)
          : null;
      let read: HistoryReadResult | null =
        kept !== null && before !== null
          ? { ...before, publications: kept.map((p) => ({ offset: p.offset, body: p.body })) }
          : query === null
            ? null
            : await this.#read(channel, query);
      let live = this.#sequencer.position(channel);
      if (live === null) throw new BackendUnavailableError('the channel position is not known yet');
      if (read !== null && query !== null) {
        const topped = this.#topUp(channel, read, live, cacheMode);
        if (topped === null) {
          read = await this.#read(channel, query, live.offset);
          live = this.#sequencer.position(channel) ?? live;
        } else read = topped;
      }
      // Everything up to `live` was sent before the hold began or is in the held list; the
      // answer covers publications up to the position it reports, the held list the rest.
      if (!connection.session.isOpen || connection.subscriptions.get(ref.name) !== channel) return;
      const answered = this.#recover(options, since, read, live);
      connection.holds?.delete(channel);
      // From here to the end: one turn of the event loop, so nothing slips in between.
      const fields: Record<string, unknown> = { offset: answered.offset, epoch: live.epoch };
      if (answered.recovered !== undefined) fields.recovered = answered.recovered;
      answer(fields, recovering ? answered.pubs : null);
      let sent = 0;
      for (const p of held.pubs) {
        if (p.epoch === live.epoch && p.offset <= answered.offset) continue;
        if (connection.writeFramed(encodeTextFrame(p.frame))) sent++;
      }
      d.counters.deliveries += sent;
    } finally {
      if (connection.holds?.get(channel) === held) connection.holds.delete(channel);
      if (connection.holds?.size === 0) connection.holds = null;
    }
  }

  /**
   * What a subscribe answers: the publications after `since` up to the position it reports
   * (never above what this node delivered, `live`), or `recovered: false` (protocol.md v1.1).
   */
  #recover(
    options: ResolvedChannelOptions,
    since: StreamPosition | null,
    read: HistoryReadResult | null,
    live: StreamPosition,
  ): { offset: number; recovered: boolean | undefined; pubs: AnswerEntry[] } {
    if (options.recovery === 'cache') {
      const latest = read?.epoch === live.epoch ? read.publications[0] : undefined;
      const fresh =
        latest !== undefined &&
        latest.offset <= live.offset &&
        (since === null || latest.offset > since.offset);
      return {
        offset: live.offset,
        recovered: since === null ? undefined : since.epoch === live.epoch && since.offset <= live.offset,
        pubs: fresh ? [this.#answerEntry(latest.body, latest.offset)] : [],
      };
    }
    if (since === null || read === null) return { offset: live.offset, recovered: undefined, pubs: [] };
    const lost = { offset: live.offset, recovered: false, pubs: [] };
    if (read.epoch !== live.epoch || since.epoch !== read.epoch || since.offset > read.offset) return lost;
    if (read.offset - since.offset > options.maxRecoveryPublications) return lost;
    const upTo = Math.min(read.offset, live.offset);
    const usable = read.publications.filter((p) => p.offset > since.offset && p.offset <= upTo);
    const missed = Math.max(0, upTo - since.offset);
    if (usable.length !== missed || (missed > 0 && usable[0]!.offset !== since.offset + 1)) return lost;
    return {
      offset: Math.max(since.offset, upTo),
      recovered: true,
      pubs: usable.map((p) => this.#answerEntry(p.body, p.offset)),
    };
  }

  /** Answers a `history` request (or `POST /api/history`). */
  async history(
    channel: string,
    query: { limit: number; since: StreamPosition | null; reverse: boolean },
  ): Promise<HistoryAnswer> {
    let read: HistoryReadResult;
    try {
      read = query.reverse
        ? await this.#read(channel, { limit: query.limit, reverse: true })
        : await this.#read(channel, { after: query.since?.offset ?? 0, limit: query.limit });
    } catch (error) {
      throw this.#unavailable(error, 0);
    }
    let pubs = read.publications;
    if (query.since !== null) {
      pubs = query.since.epoch === read.epoch ? pubs.filter((p) => p.offset > query.since!.offset) : [];
    }
    return {
      offset: read.offset,
      epoch: read.epoch,
      publications: pubs.map((p) => this.#answerEntry(p.body, p.offset).json),
    };
  }

  /** Forgets a channel's history (`POST /api/history_remove`). */
  async remove(channel: string): Promise<void> {
    try {
      await this.#d.store.remove(channel);
    } catch (error) {
      throw this.#unavailable(error, 0);
    }
  }

  /** The channel lost its last local subscriber: stop ordering its deliveries. */
  released(channel: string): void {
    this.#sequencer.untrack(channel);
  }

  /** The channel's position as this node delivered it (null when it is not tracked here). */
  position(channel: string): StreamPosition | null {
    return this.#sequencer.position(channel);
  }

  /**
   * Reads history, sharing an identical read in flight when that read began with the node at
   * `floor` or beyond (so its answer reaches every publication delivered up to `floor`).
   */
  #read(
    channel: string,
    q: { after?: number; limit: number; reverse?: boolean },
    floor = 0,
  ): Promise<HistoryReadResult> {
    const key = `${channel}\n${q.after ?? 0}\n${q.limit}\n${q.reverse === true}`;
    const mark = this.#sequencer.position(channel)?.offset ?? 0;
    return this.#reads.run(key, () => this.#d.store.read(channel, q), mark, floor);
  }

  #answerEntry(body: Buffer, offset: number): AnswerEntry {
    const { header, frame } = decodeEnvelope(body);
    return {
      offset,
      json: publicationJson(header, frame, offset),
      frame: () => (header.fh === undefined ? frame : frameWithOffset(frame, header.fh, offset)),
    };
  }

  #sequenced(body: Buffer, position: StreamPosition): SequencedPublication {
    const { header, frame } = decodeEnvelope(body);
    return {
      ...position,
      body,
      frame: header.fh === undefined ? frame : frameWithOffset(frame, header.fh, position.offset),
    };
  }

  /**
   * A (possibly shared) read brought up to what this node delivered (`live`): the publications
   * after the read's top come from the node's own recent deliveries. Null when the node no
   * longer keeps all of them (then the caller reads again).
   */
  #topUp(
    channel: string,
    read: HistoryReadResult,
    live: StreamPosition,
    latestOnly: boolean,
  ): HistoryReadResult | null {
    if (read.epoch !== live.epoch || read.offset >= live.offset) return read;
    const recent = this.#sequencer.recentBetween(channel, live.epoch, read.offset, live.offset);
    if (recent === null) return null;
    const more = recent.map((p) => ({ offset: p.offset, body: p.body }));
    const last = more[more.length - 1];
    return {
      offset: live.offset,
      epoch: live.epoch,
      publications: latestOnly
        ? last === undefined
          ? read.publications
          : [last]
        : [...read.publications, ...more],
    };
  }

  /** Hands one publication to the channel's local sessions (held ones keep it for later). */
  #deliverLocal(channel: string, pub: SequencedPublication): void {
    const d = this.#d;
    let framed: Buffer | undefined;
    let delivered = 0;
    for (const s of d.channels.subscribers(channel)) {
      const held = s.holds?.get(channel);
      if (held !== undefined) {
        held.pubs.push(pub);
        if (held.pubs.length > MAX_HELD) s.close(CloseCode.SlowConsumer);
        continue;
      }
      framed ??= encodeTextFrame(pub.frame);
      if (s.writeFramed(framed)) delivered++;
    }
    d.counters.deliveries += delivered;
    d.counters.messages_sent += delivered;
    d.counters.bytes_sent += delivered * pub.frame.length;
  }

  #unavailable(error: unknown, deliveredLocal: number): BackendUnavailableError {
    this.#d.counters.backend_errors++;
    if (error instanceof BackendUnavailableError && error.deliveredLocal === deliveredLocal) return error;
    if (!(error instanceof BackendUnavailableError)) this.#d.onError(error, 'history store');
    return new BackendUnavailableError('the history store did not answer: try again', {
      retryAfterMs: error instanceof BackendUnavailableError ? error.retryAfterMs : undefined,
      deliveredLocal,
      cause: error,
    });
  }
}

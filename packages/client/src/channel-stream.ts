import type {
  ChannelMessageFrame,
  HistoryAckData,
  Publication,
  SinceOffset,
  SubscribeAckData,
  SubscribedData,
} from './protocol';

/**
 * Why a subscription's stream has a hole the client could not fill:
 * - `not_recovered`: a resubscribe from the last position was answered `recovered: false` (another
 *   epoch, a trimmed or expired position, too many missed publications), or the channel no longer
 *   has history, or the server re-subscribed the session in another epoch;
 * - `gap`: live offsets skipped some publications and a `history` read could not supply them.
 */
export type ResyncReason = 'not_recovered' | 'gap';

/** The `resync` event of a subscription: reload the application's state, then carry on. */
export interface ResyncEvent {
  reason: ResyncReason;
  /** The position of the last publication delivered before the hole. */
  since: SinceOffset;
  /** The position the subscription carries on from; undefined when the channel has no history now. */
  position: SinceOffset | undefined;
}

/** @internal What a {@link ChannelStream} needs from the client. */
export interface StreamHost {
  /** Hands one publication to the channel's subscriptions. */
  deliver(frame: ChannelMessageFrame): void;
  resync(event: ResyncEvent): void;
  /** Reads at most `limit` publications after `since`; rejects when not connected. */
  history(since: SinceOffset, limit: number): Promise<HistoryAckData>;
}

/** Deliveries held while a subscribe or a repair is under way; later ones are dropped (and repaired later). */
export const MAX_HELD_DELIVERIES = 10_000;
/** A live gap of more missed publications than this is not read from history: it resyncs at once. */
export const MAX_REPAIRED_PUBLICATIONS = 1_000;

/** The `{offset, epoch}` of an ack or push, when it carries both. */
function positionOf(data: { offset?: unknown; epoch?: unknown }): SinceOffset | undefined {
  const { offset, epoch } = data;
  return Number.isSafeInteger(offset) && typeof epoch === 'string'
    ? { offset: offset as number, epoch }
    : undefined;
}

/**
 * One channel's delivery order (protocol.md v1.1, "History and recovery"): tracks the position of
 * the last publication delivered, holds deliveries that arrive while a subscribe or a repair is
 * under way, drops deliveries at or below the position (duplicates), and fills a gap in live
 * offsets from `history` before delivering what follows it.
 *
 * @internal One per channel the client holds; the subscriptions of the channel share it.
 */
export class ChannelStream {
  /** The last position delivered (or acknowledged); undefined while the channel has no history. */
  position: SinceOffset | undefined;
  /** `recovered` of the last subscribe ack (undefined when it had none). */
  recovered: boolean | undefined;
  readonly #channel: string;
  readonly #host: StreamHost;
  /** False while waiting for an ack or a repair: positioned deliveries are held. */
  #flowing = false;
  #held: ChannelMessageFrame[] = [];
  /** Bumped by every reset, ack and repair: a stale reply or a reentrant handler stops old work. */
  #turn = 0;

  constructor(channel: string, host: StreamHost) {
    this.#channel = channel;
    this.#host = host;
  }

  /** The connection was lost: hold deliveries until the next ack; the held ones will be recovered. */
  reset(): void {
    this.#flowing = false;
    this.#held = [];
    this.#turn++;
  }

  /**
   * A `subscribe` ack; `since` is the position the subscribe asked to recover from. Emits a
   * `resync` when recovery was asked for and not granted, then the ack's publications (those above
   * the position), then the deliveries held meanwhile.
   */
  acknowledged(ack: SubscribeAckData, since: SinceOffset | undefined): void {
    const turn = ++this.#turn;
    this.recovered = ack.recovered;
    const top = positionOf(ack);
    let last = since !== undefined && since.epoch === top?.epoch ? since.offset : undefined;
    if (since !== undefined && (ack.recovered !== true || last === undefined)) {
      this.position = top;
      this.#host.resync({ reason: 'not_recovered', since, position: top });
      last = undefined;
    }
    for (const publication of ack.publications ?? []) {
      if (turn !== this.#turn) return;
      if (last !== undefined && publication.offset <= last) continue;
      last = publication.offset;
      this.#emit(publication, top?.epoch);
    }
    if (turn !== this.#turn) return;
    this.position = top && { epoch: top.epoch, offset: Math.max(top.offset, last ?? top.offset) };
    this.#flow();
  }

  /**
   * A `subscribed` push: the server subscribed the session at the push's position. A position
   * held from before (a reconnect) is caught up from history, or resyncs in another epoch.
   */
  serverSubscribed(data: SubscribedData): void {
    const top = positionOf(data);
    const from = this.position;
    this.#turn++;
    if (from !== undefined && top !== undefined && from.epoch === top.epoch) {
      if (top.offset > from.offset) this.#repair(from, top.offset);
      else this.#flow();
      return;
    }
    this.position = top;
    if (from !== undefined) this.#host.resync({ reason: 'not_recovered', since: from, position: top });
    this.#flow();
  }

  /** A delivery of the channel. */
  frame(frame: ChannelMessageFrame): void {
    if (!Number.isSafeInteger(frame.offset)) {
      this.#host.deliver(frame); // no history on the channel: nothing to order by
      return;
    }
    if (this.#held.length >= MAX_HELD_DELIVERIES) return; // a gap the next delivery repairs
    this.#held.push(frame);
    if (this.#flowing) this.#flow();
  }

  /** Delivers held deliveries in order until none is left or a gap starts a repair. */
  #flow(): void {
    this.#flowing = true;
    const held = this.#held;
    let i = 0;
    while (this.#flowing && held === this.#held && i < held.length) {
      const frame = held[i] as ChannelMessageFrame;
      const offset = frame.offset as number;
      const p = this.position;
      if (p !== undefined && offset > p.offset + 1) {
        this.#repair(p, offset - 1);
        break;
      }
      i++;
      if (p === undefined) this.#host.deliver(frame);
      else if (offset === p.offset + 1) {
        this.position = { epoch: p.epoch, offset };
        this.#host.deliver(frame);
      } // else: at or below the position, a duplicate
    }
    if (held === this.#held) held.splice(0, i);
  }

  /** Reads `from.offset + 1 … to` from history, delivers it, then flows again; resyncs what it cannot fill. */
  #repair(from: SinceOffset, to: number): void {
    this.#flowing = false;
    const turn = ++this.#turn;
    const missing = to - from.offset;
    const done = (answer: HistoryAckData | undefined) => {
      if (turn !== this.#turn) return;
      let last = from.offset;
      if (answer?.epoch === from.epoch) {
        for (const publication of answer.publications) {
          if (publication.offset <= last) continue;
          if (publication.offset !== last + 1 || publication.offset > to) break;
          last = publication.offset;
          this.#emit(publication, from.epoch);
          if (turn !== this.#turn) return;
        }
      }
      if (last < to) {
        const position = { epoch: answer?.epoch ?? from.epoch, offset: to };
        this.position = position;
        this.#host.resync({ reason: 'gap', since: { epoch: from.epoch, offset: last }, position });
      }
      if (turn === this.#turn) this.#flow();
    };
    // Asynchronous either way: #flow must not run inside the #flow that started the repair.
    const read: Promise<HistoryAckData | undefined> =
      missing > MAX_REPAIRED_PUBLICATIONS ? Promise.resolve(undefined) : this.#host.history(from, missing);
    read.then(done, () => done(undefined));
  }

  #emit(publication: Publication, epoch: string | undefined): void {
    const { type, data, offset } = publication;
    if (epoch !== undefined) this.position = { epoch, offset };
    this.#host.deliver({ type, channel: this.#channel, data, offset });
  }
}

import type { StreamPosition } from './stream-position';

/** One numbered publication on its way to local sessions: its position and its (unframed) bytes. */
export interface SequencedPublication {
  offset: number;
  epoch: string;
  /** The frame as sessions receive it (offset included). */
  frame: Buffer;
  /** The stored body (the envelope), to answer a recovery from memory. */
  body: Buffer;
}

/** What a sequencer needs. @internal */
export interface SequencerDeps {
  /**
   * The channel's current top position (the store's) and its last publications, oldest first
   * (they seed what the node keeps, so that recoveries from just before are answered from memory).
   */
  start(channel: string): Promise<{ position: StreamPosition; last: SequencedPublication[] }>;
  /** Publications of the channel after `after`, oldest first, at most `limit` (to fill a gap). */
  fill(channel: string, after: number, limit: number): Promise<SequencedPublication[]>;
  /** Hands a publication to the channel's local sessions, in offset order. */
  deliver(channel: string, pub: SequencedPublication): void;
  /** Reports a failure (never thrown to the caller). */
  onError(error: unknown, context: string): void;
  /** How long a hole in the offsets may wait for the missing publications before they are read from the store. */
  gapWaitMs: number;
}

interface ChannelState {
  epoch: string | null;
  /** The last offset handed to local sessions. */
  last: number;
  /** Resolves once the starting position is known. */
  ready: Promise<void>;
  isReady: boolean;
  /** Publications that arrived ahead of a hole (or before the start position was known). */
  ahead: Map<number, SequencedPublication>;
  gapTimer: NodeJS.Timeout | null;
  filling: boolean;
  /** The last publications delivered here, oldest first (RECENT_KEPT to twice as many). */
  recent: SequencedPublication[];
}

/** Publications each tracked channel keeps of what it delivered, to answer recoveries from memory. */
const RECENT_KEPT = 256;

/** Pending publications per channel beyond which a hole is filled at once rather than waited for. */
const MAX_AHEAD = 10_000;

/**
 * Puts a node's deliveries of each channel with history in offset order, exactly once. A
 * channel's publications reach a node from the broker and from its own publishes; with a store
 * that does not fan out (NATS, memory) two nodes' publications may cross on the way. The
 * sequencer drops what it delivered already, holds what comes ahead of a hole for `gapWaitMs`,
 * then reads the missing ones from the store; what the store no longer has is skipped (counted).
 * Per channel it knows the last offset it delivered: that is the position a `subscribe` ack
 * reports, and every later delivery is above it. @internal
 */
export class ChannelSequencer {
  readonly #d: SequencerDeps;
  readonly #channels = new Map<string, ChannelState>();
  /** Publications skipped because the store no longer had a hole's contents. */
  skipped = 0;
  /** Duplicates dropped (own echo, replays). */
  duplicates = 0;

  constructor(deps: SequencerDeps) {
    this.#d = deps;
  }

  /** Channels tracked. */
  get size(): number {
    return this.#channels.size;
  }

  /**
   * Starts tracking `channel` (its topic must already be subscribed, so that nothing published
   * after the start position is missed) and resolves once its start position is known.
   */
  track(channel: string): Promise<void> {
    const existing = this.#channels.get(channel);
    if (existing !== undefined) return existing.ready;
    const state: ChannelState = {
      epoch: null,
      last: 0,
      ready: Promise.resolve(),
      isReady: false,
      ahead: new Map(),
      gapTimer: null,
      filling: false,
      recent: [],
    };
    this.#channels.set(channel, state);
    state.ready = this.#d.start(channel).then(
      ({ position, last }) => {
        if (this.#channels.get(channel) !== state) return;
        state.epoch = position.epoch;
        state.last = position.offset;
        // Contiguous up to the top, or not kept at all.
        const seed = last.filter((p) => p.epoch === position.epoch && p.offset <= position.offset);
        const contiguous = seed.every((p, i) => p.offset === position.offset - seed.length + 1 + i);
        state.recent = contiguous ? seed.slice(-RECENT_KEPT) : [];
        state.isReady = true;
        this.#drain(channel, state);
      },
      (error: unknown) => {
        if (this.#channels.get(channel) === state) this.#channels.delete(channel);
        throw error;
      },
    );
    return state.ready;
  }

  /** Stops tracking `channel` (its last local subscriber left). */
  untrack(channel: string): void {
    const state = this.#channels.get(channel);
    if (state === undefined) return;
    if (state.gapTimer !== null) clearTimeout(state.gapTimer);
    this.#channels.delete(channel);
  }

  /**
   * The publications this node delivered in `(after, upTo]`, oldest first, when it still keeps
   * every one of them (at least the last {@link RECENT_KEPT}); otherwise null.
   */
  recentBetween(channel: string, epoch: string, after: number, upTo: number): SequencedPublication[] | null {
    const state = this.#channels.get(channel);
    if (state === undefined || state.epoch !== epoch || upTo > state.last) return null;
    if (upTo <= after) return [];
    const first = state.recent[0];
    if (first === undefined || first.offset > after + 1) return null;
    const from = after + 1 - first.offset;
    const out = state.recent.slice(from, from + (upTo - after));
    return out.length === upTo - after ? out : null;
  }

  /** The last position handed to local sessions, or null while it is not known. */
  position(channel: string): StreamPosition | null {
    const state = this.#channels.get(channel);
    if (state === undefined || !state.isReady || state.epoch === null) return null;
    return { offset: state.last, epoch: state.epoch };
  }

  /**
   * Takes one publication (from the broker or from this node's own publish). Returns false when
   * the channel is not tracked here (the caller delivers it as it is).
   */
  accept(channel: string, pub: SequencedPublication): boolean {
    const state = this.#channels.get(channel);
    if (state === undefined) return false;
    if (!state.isReady) {
      state.ahead.set(pub.offset, pub);
      return true;
    }
    if (pub.epoch !== state.epoch) {
      // The store lost the stream: the new epoch starts here; what was pending is of the old one.
      state.epoch = pub.epoch;
      state.last = pub.offset - 1;
      state.ahead.clear();
      state.recent = [];
      if (state.gapTimer !== null) clearTimeout(state.gapTimer);
      state.gapTimer = null;
    }
    if (pub.offset <= state.last || state.ahead.has(pub.offset)) {
      this.duplicates++;
      return true;
    }
    state.ahead.set(pub.offset, pub);
    this.#drain(channel, state);
    return true;
  }

  /** Delivers what is contiguous; waits (then fills) when a hole remains. */
  #drain(channel: string, state: ChannelState): void {
    for (const [offset] of state.ahead) if (offset <= state.last) state.ahead.delete(offset);
    let next = state.ahead.get(state.last + 1);
    while (next !== undefined) {
      state.ahead.delete(next.offset);
      state.last = next.offset;
      state.recent.push(next);
      // Trimmed in batches: at least the last RECENT_KEPT stay, at a cost per publication that
      // does not grow with what is kept.
      if (state.recent.length >= 2 * RECENT_KEPT) state.recent = state.recent.slice(-RECENT_KEPT);
      this.#deliver(channel, next);
      next = state.ahead.get(state.last + 1);
    }
    if (state.ahead.size === 0) {
      if (state.gapTimer !== null) clearTimeout(state.gapTimer);
      state.gapTimer = null;
      return;
    }
    if (state.ahead.size > MAX_AHEAD) {
      this.#fill(channel, state);
      return;
    }
    if (state.gapTimer === null && !state.filling) {
      state.gapTimer = setTimeout(() => {
        state.gapTimer = null;
        this.#fill(channel, state);
      }, this.#d.gapWaitMs);
      state.gapTimer.unref?.();
    }
  }

  /** Reads the hole from the store, delivers it and what waited behind it; skips what is gone. */
  #fill(channel: string, state: ChannelState): void {
    if (state.filling) return;
    state.filling = true;
    const from = state.last;
    const upTo = Math.min(...state.ahead.keys());
    this.#d
      .fill(channel, from, upTo - from - 1)
      .then(
        (pubs) => {
          if (this.#channels.get(channel) !== state) return;
          for (const p of pubs)
            if (p.epoch === state.epoch && p.offset > state.last && p.offset < upTo)
              state.ahead.set(p.offset, p);
        },
        (error: unknown) => this.#d.onError(error, 'history gap fill'),
      )
      .finally(() => {
        state.filling = false;
        if (this.#channels.get(channel) !== state) return;
        if (state.last < upTo - 1 && !state.ahead.has(state.last + 1)) {
          // The store no longer holds the hole (trimmed or expired): go on after it.
          let firstAhead = upTo;
          for (let o = state.last + 1; o < upTo; o++) {
            if (state.ahead.has(o)) {
              firstAhead = o;
              break;
            }
          }
          this.skipped += firstAhead - state.last - 1;
          state.last = firstAhead - 1;
        }
        this.#drain(channel, state);
      });
  }

  #deliver(channel: string, pub: SequencedPublication): void {
    try {
      this.#d.deliver(channel, pub);
    } catch (error) {
      this.#d.onError(error, 'history delivery');
    }
  }
}

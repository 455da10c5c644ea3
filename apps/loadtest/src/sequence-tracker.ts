/** Counters that sequence trackers add to. */
export interface DeliveryCounts {
  /** Deliveries received, duplicates included. */
  received: number;
  /** Deliveries of a sequence number already received. */
  duplicates: number;
  /** Deliveries that came after a later sequence number of the same stream. */
  outOfOrder: number;
}

/** Sequence numbers held above a gap before the tracker gives the gap up as lost. */
const MAX_PENDING = 10_000;

/**
 * Follows one stream (one publisher on one channel) as one subscriber receives it. In order,
 * it only moves a counter; a gap keeps the numbers received above it in a set until the gap
 * fills, so memory stays small unless the stream is badly out of order.
 */
export class SequenceTracker {
  /** First sequence number expected (0, or where a late subscriber came in). */
  base: number;
  /** Every number below this (and from `base`) has been received. */
  next: number;
  /** Highest number received, -1 before any. */
  max = -1;
  /** Numbers given up as lost when the pending set grew too large. */
  abandoned = 0;
  #pending: Set<number> | null = null;

  /** @param base - first number expected; `null` starts at the first number received (late joiners). */
  constructor(base: number | null = 0) {
    this.base = base ?? -1;
    this.next = base ?? -1;
  }

  /** Records one delivery of `seq`. */
  record(seq: number, counts: DeliveryCounts): void {
    counts.received++;
    if (this.next < 0) {
      this.base = seq;
      this.next = seq;
    }
    if (seq === this.next) {
      this.next++;
      const pending = this.#pending;
      if (pending !== null && pending.size > 0) {
        while (pending.delete(this.next)) this.next++;
      }
    } else if (seq < this.next) {
      counts.duplicates++;
      return;
    } else {
      this.#pending ??= new Set();
      if (this.#pending.has(seq)) {
        counts.duplicates++;
        return;
      }
      this.#pending.add(seq);
      if (this.#pending.size > MAX_PENDING) this.#abandonGap();
    }
    if (seq < this.max) counts.outOfOrder++;
    else this.max = seq;
  }

  /** Distinct numbers received from `base`. */
  get unique(): number {
    return this.next < 0 ? 0 : this.next - this.base - this.abandoned + (this.#pending?.size ?? 0);
  }

  /**
   * Numbers missing: below `expectedEnd` when given (the publisher's count), else between the
   * first and the highest received (a subscriber that left before the end).
   */
  lost(expectedEnd?: number): number {
    if (this.next < 0)
      return expectedEnd === undefined ? 0 : Math.max(0, expectedEnd - Math.max(this.base, 0));
    const end = expectedEnd ?? this.max + 1;
    let unique = this.next - this.base - this.abandoned;
    if (this.#pending !== null) for (const s of this.#pending) if (s < end) unique++;
    return Math.max(0, end - this.base - unique);
  }

  #abandonGap(): void {
    const pending = this.#pending!;
    let lowest = Number.POSITIVE_INFINITY;
    for (const s of pending) if (s < lowest) lowest = s;
    this.abandoned += lowest - this.next;
    this.next = lowest;
    while (pending.delete(this.next)) this.next++;
  }
}

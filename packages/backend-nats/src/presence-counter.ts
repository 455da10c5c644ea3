import { randomBytes } from 'node:crypto';

/**
 * A channel's member count as kept in KV: `n` counts the channel's members admitted since the
 * last recount and those the recount found alive (never fewer than the live members); `g`
 * changes and `t` (ms since the epoch) is set whenever a recount sets `n`: members that had
 * expired by `t` are not in it.
 * @internal
 */
export interface CounterValue {
  n: number;
  g: string;
  t: number;
}

/** What a {@link PresenceCounter} needs of the store for one channel. @internal */
export interface CounterIO {
  /** The counter and its revision; null when missing. */
  get(): Promise<(CounterValue & { rev: number }) | null>;
  /** Creates the counter; rejects with a conflict when it exists. */
  create(value: CounterValue): Promise<void>;
  /** Replaces the counter at `rev`; rejects with a conflict when it changed. */
  update(value: CounterValue, rev: number): Promise<void>;
  /**
   * The member keys of the channel now present that expire after `t`, without `exclude`; the
   * pending ones too when `pending` is true.
   */
  recount(exclude: ReadonlySet<string>, t: number, pending: boolean): Promise<number>;
  /** True for the error of a conflicting write. */
  isConflict(error: unknown): boolean;
}

type Op =
  | { kind: 'admit'; max: number; key: string; resolve: (ok: boolean) => void; reject: (e: unknown) => void }
  | {
      kind: 'release';
      g: string;
      expiries: readonly number[];
      resolve: () => void;
      reject: (e: unknown) => void;
    };

/** Compare-and-set rounds of one batch at most. */
const MAX_ROUNDS = 50;

const newGeneration = () => randomBytes(6).toString('base64url');

/**
 * The member limit of presence channels, across nodes: a counter per channel in KV changed only
 * by compare-and-set, so two nodes never both take the last place. A node batches what its own
 * calls ask of one channel (admissions and releases) into one write per round, so a join storm
 * costs a handful of writes, not one contended write per member.
 *
 * The counter may count too many (a node died between two writes), never too few: a member key
 * is written (pending) before it is counted, and a release only applies when no recount
 * happened since the releaser read the counter's generation, for members the counter holds.
 * When the limit would refuse an admission, the live member keys are counted again and the
 * counter lowered to that count, so members that expired (pruned or not) and places lost to a
 * dead node give their place back.
 * @internal
 */
export class PresenceCounter {
  readonly #queues = new Map<string, Op[]>();
  readonly #deadlineMs: number;
  readonly #busy: (what: string) => Error;

  /** A batch gives up after `deadlineMs` of conflicting writes, rejecting with `busy(...)`. */
  constructor(deadlineMs: number, busy: (what: string) => Error) {
    this.#deadlineMs = deadlineMs;
    this.#busy = busy;
  }

  /** Takes one place under `max` for the (pending) member key `key`; false when the channel is full. */
  admit(channel: string, io: CounterIO, max: number, key: string): Promise<boolean> {
    return new Promise((resolve, reject) =>
      this.#push(channel, io, { kind: 'admit', max, key, resolve, reject }),
    );
  }

  /**
   * Gives back the places of deleted members (by their expiries), if the counter is still at
   * generation `g` (read before they were deleted) and they were counted (alive at the last
   * recount, or admitted since).
   */
  release(channel: string, io: CounterIO, g: string, expiries: readonly number[]): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#push(channel, io, { kind: 'release', g, expiries, resolve, reject }),
    );
  }

  #push(channel: string, io: CounterIO, op: Op): void {
    const queue = this.#queues.get(channel);
    if (queue !== undefined) {
      queue.push(op);
      return;
    }
    this.#queues.set(channel, [op]);
    void this.#drain(channel, io);
  }

  /** Runs rounds until the channel's queue is empty; new ops join the next round. */
  async #drain(channel: string, io: CounterIO): Promise<void> {
    const queue = this.#queues.get(channel);
    while (queue !== undefined && queue.length > 0) {
      const batch = queue.splice(0);
      try {
        const granted = await this.#round(io, batch);
        for (const [i, op] of batch.entries()) {
          if (op.kind === 'admit') op.resolve(granted[i] === true);
          else op.resolve();
        }
      } catch (error) {
        for (const op of batch) op.reject(error);
      }
    }
    this.#queues.delete(channel);
  }

  /** One batch: reads the counter, applies releases and admissions, writes once. */
  async #round(io: CounterIO, batch: readonly Op[]): Promise<boolean[]> {
    const deadline = Date.now() + this.#deadlineMs;
    const own = new Set(batch.flatMap((op) => (op.kind === 'admit' ? [op.key] : [])));
    let recounted = false;
    for (let round = 0; round < MAX_ROUNDS && Date.now() < deadline; round++) {
      try {
        const c = await io.get();
        if (c === null) {
          // Never created, or collected after the channel was idle: count the members there.
          // Pending keys are left out: none of them was admitted. An admission writes the
          // counter, which then lives for the bucket's max age, longer than any pending key (the
          // bucket collects those at the same age), so with no counter now, no pending key still
          // there was counted. Counting them made two nodes that create the counter at once each
          // count the other's pending keys and refuse everyone.
          const t = Date.now();
          await io.create({ n: await io.recount(own, t, false), g: newGeneration(), t });
          recounted = true;
          continue;
        }
        let n = c.n;
        for (const op of batch) {
          if (op.kind === 'release' && op.g === c.g) n -= op.expiries.filter((x) => x > c.t).length;
        }
        n = Math.max(0, n);
        const granted = batch.map((op) => op.kind === 'admit' && n < op.max && ++n > 0);
        const refused = batch.some((op, i) => op.kind === 'admit' && !granted[i]);
        if (refused && !recounted) {
          recounted = true;
          const t = Date.now();
          const present = await io.recount(own, t, true);
          if (present < c.n) {
            // Releases read before this are void from now on (their keys are not counted).
            await io.update({ n: present, g: newGeneration(), t }, c.rev);
            continue;
          }
        }
        if (n !== c.n) await io.update({ n, g: c.g, t: c.t }, c.rev);
        return granted;
      } catch (error) {
        if (!io.isConflict(error)) throw error;
      }
    }
    throw this.#busy('the member count (other nodes kept changing it)');
  }
}

import { KeyedSerializer } from './keyed-serializer';

/** How a {@link KeyedBatcher} cuts what waits on a key into batches. @internal */
export interface BatchLimits<I> {
  /** Items in one batch at most. */
  maxItems: number;
  /** Total {@link weight} of one batch at most (a heavier item still goes, alone). */
  maxWeight(): number;
  /** An item's weight, e.g. its bytes. */
  weight(item: I): number;
  /** True for an item that must be sent in a batch of its own. */
  alone(item: I): boolean;
}

interface Waiting<I, R> {
  item: I;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/**
 * Sends items per key in batches: while a batch of a key is being sent, the items added to that
 * key wait, and when it is done they go as the next batches (cut by {@link BatchLimits}), in the
 * order they were added. An item added to an idle key is sent at once, alone, so batching adds
 * no delay; under load each batch holds what came during one round trip. Keys are independent.
 * A failed batch rejects its own items only.
 *
 * @example
 * const batcher = new KeyedBatcher(send, limits)
 * const [a, b, c] = ['x', 'y', 'z'].map((v) => batcher.add('news', v))
 * // send('news', ['x']), then, once it is done, send('news', ['y', 'z'])
 * @internal
 */
export class KeyedBatcher<I, R> {
  readonly #serial = new KeyedSerializer();
  /** Per key, the items waiting for the batch being sent (not yet handed to a send). */
  readonly #open = new Map<string, Waiting<I, R>[]>();
  readonly #send: (key: string, items: I[]) => Promise<R[]>;
  readonly #limits: BatchLimits<I>;

  /** `send` sends one batch of a key and resolves with one result per item, in order. */
  constructor(send: (key: string, items: I[]) => Promise<R[]>, limits: BatchLimits<I>) {
    this.#send = send;
    this.#limits = limits;
  }

  /** Keys with items waiting or being sent. */
  get size(): number {
    return this.#serial.size;
  }

  /** Sends `item` with the next batch of `key`; resolves with its own result. */
  add(key: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiting = { item, resolve, reject };
      const open = this.#open.get(key);
      if (open !== undefined) {
        open.push(waiting);
        return;
      }
      const queue = [waiting];
      this.#open.set(key, queue);
      void this.#serial.run(key, () => this.#drain(key, queue));
    });
  }

  /**
   * Runs `task` once everything added to `key` so far was sent, before anything added after
   * this call.
   */
  exclusive<T>(key: string, task: () => Promise<T>): Promise<T> {
    this.#open.delete(key);
    return this.#serial.run(key, task);
  }

  /** Sends `queue` batch after batch; never rejects (each batch settles its own items). */
  async #drain(key: string, queue: Waiting<I, R>[]): Promise<void> {
    // From now on, items added to the key wait for the next drain.
    if (this.#open.get(key) === queue) this.#open.delete(key);
    let at = 0;
    while (at < queue.length) {
      const batch = queue.slice(at, at + this.#cut(queue, at));
      at += batch.length;
      try {
        const results = await this.#send(
          key,
          batch.map((w) => w.item),
        );
        if (results.length !== batch.length)
          throw new Error(`a batch of ${batch.length} got ${results.length} results`);
        for (const [i, w] of batch.entries()) w.resolve(results[i] as R);
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
  }

  /** How many of the items from `queue[at]` on go in the next batch (at least one). */
  #cut(queue: readonly Waiting<I, R>[], at: number): number {
    const l = this.#limits;
    const first = queue[at] as Waiting<I, R>;
    if (l.alone(first.item)) return 1;
    const maxWeight = l.maxWeight();
    let weight = l.weight(first.item);
    let n = 1;
    while (at + n < queue.length && n < l.maxItems) {
      const next = (queue[at + n] as Waiting<I, R>).item;
      if (l.alone(next)) break;
      weight += l.weight(next);
      if (weight > maxWeight) break;
      n++;
    }
    return n;
  }
}

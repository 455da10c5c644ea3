/**
 * Merges concurrent identical asynchronous calls: while a call for a key is in flight, the same
 * key gets the same promise. A reconnect storm after a node died asks the history store the
 * same question thousands of times at once; the store answers it once.
 *
 * A call may need an answer no older than some point: each call carries a `mark` (e.g. the
 * last offset the node had delivered when the call began), and a caller joins a call in flight
 * only if that call's mark is at least the caller's `minMark`; otherwise a new call starts (and
 * later callers may join it). @internal
 */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, { promise: Promise<T>; mark: number }>();
  #merged = 0;

  /** Calls that joined one already in flight, since the start. */
  get merged(): number {
    return this.#merged;
  }

  /** Runs `fn` unless a call for `key` with a mark of at least `minMark` is in flight, whose promise is then shared. */
  run(key: string, fn: () => Promise<T>, mark = 0, minMark = 0): Promise<T> {
    const current = this.#inFlight.get(key);
    if (current !== undefined && current.mark >= minMark) {
      this.#merged++;
      return current.promise;
    }
    const entry = { promise: fn(), mark };
    entry.promise = entry.promise.finally(() => {
      if (this.#inFlight.get(key) === entry) this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, entry);
    return entry.promise;
  }
}

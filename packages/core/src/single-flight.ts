/**
 * Merges concurrent identical asynchronous calls: while a call for a key is in flight, the same
 * key gets the same promise. A reconnect storm after a node died asks the history store the
 * same question thousands of times at once; the store answers it once. @internal
 */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>();
  #merged = 0;

  /** Calls that joined one already in flight, since the start. */
  get merged(): number {
    return this.#merged;
  }

  /** Runs `fn` unless a call for `key` is in flight, whose promise is then shared. */
  run(key: string, fn: () => Promise<T>): Promise<T> {
    const current = this.#inFlight.get(key);
    if (current !== undefined) {
      this.#merged++;
      return current;
    }
    const p = fn().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, p);
    return p;
  }
}

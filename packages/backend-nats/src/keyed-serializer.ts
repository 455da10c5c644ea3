/**
 * Runs tasks one after another per key, in call order, and tasks of different keys at once. A
 * failed task does not stop the ones queued after it. Keys are forgotten once idle, so memory
 * follows the keys in use.
 *
 * @example
 * const serial = new KeyedSerializer()
 * serial.run('news', () => append(a)) // a first
 * serial.run('news', () => append(b)) // then b
 * @internal
 */
export class KeyedSerializer {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Keys with queued or running tasks. */
  get size(): number {
    return this.#tails.size;
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    const result = previous === undefined ? task() : previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

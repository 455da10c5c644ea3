import type { Writable } from 'node:stream';

/**
 * Holds a connection's writes until the end of the event-loop turn, so that every command
 * issued in one turn leaves in one `writev` (one system call and, on loopback, one pass
 * through the kernel's TCP stack) instead of one write each. Commands keep their order: a
 * corked stream queues them, and uncorking writes them as they came.
 */
export class TurnCorker {
  #corked: Writable[] = [];
  #scheduled = false;
  readonly #flush = () => {
    this.#scheduled = false;
    const corked = this.#corked;
    this.#corked = [];
    for (const stream of corked) stream.uncork();
  };

  /** Corks `stream` until the end of this turn (once per turn; a no-op when it is already corked). */
  hold(stream: Writable | undefined): void {
    if (stream === undefined || stream.writableCorked > 0 || !stream.writable) return;
    stream.cork();
    this.#corked.push(stream);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }
}

import type { Duplex } from 'node:stream';

/**
 * Coalesces writes per socket per event-loop turn: the first write of a turn corks the socket,
 * and one `setImmediate` uncorks every socket written to, so that all frames a socket got in a
 * turn leave in one `writev` instead of one system call each.
 *
 * A socket whose corked bytes reach `flushAt` is uncorked at once: corked bytes count toward
 * the outbound-buffer limit, and a burst within one turn must not make a fast reader look slow.
 */
export class WriteCoalescer {
  #corked: Duplex[] = [];
  #scheduled = false;
  readonly #flushAt: number;
  readonly #flush = () => {
    this.#scheduled = false;
    const corked = this.#corked;
    this.#corked = [];
    for (const socket of corked) socket.uncork();
  };

  /** @param flushAt - corked bytes after which a socket is flushed at once. @default 65536 */
  constructor(flushAt = 64 * 1024) {
    this.#flushAt = flushAt;
  }

  /**
   * Corks `socket` until the end of this event-loop turn, so that whatever is written to it
   * meanwhile, by this coalescer or by anyone else (the upgrade's `101` answer), leaves in one
   * `writev`.
   */
  hold(socket: Duplex): void {
    if (socket.writableCorked !== 0) return;
    socket.cork();
    this.#corked.push(socket);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** Writes `data` to `socket`, corked until the end of this event-loop turn (or `flushAt`). */
  write(socket: Duplex, data: Buffer): void {
    this.hold(socket);
    socket.write(data);
    // Uncorking a socket that is no longer corked is a no-op, so the turn's flush stays safe.
    if (socket.writableLength >= this.#flushAt) socket.uncork();
  }
}

/** Why a request got no slot. @internal */
export type SlotRefusal = 'queue_full' | 'queue_timeout';

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

/**
 * At most `maxActive` requests at once; up to `maxQueued` more wait, each until its deadline.
 * A slow application thus holds a bounded amount of work on a node: what exceeds both bounds
 * is refused at once, never queued without end. @internal
 */
export class ConcurrencyLimiter {
  readonly #maxActive: number;
  readonly #maxQueued: number;
  readonly #waiting: Waiter[] = [];
  #active = 0;

  constructor(maxActive: number, maxQueued: number) {
    this.#maxActive = maxActive;
    this.#maxQueued = maxQueued;
  }

  /** Requests running now. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves with a release function once a slot is free, or with the refusal: the queue is
   * full, or no slot came within `waitMs`. Call the release function exactly once.
   */
  acquire(waitMs: number): Promise<(() => void) | SlotRefusal> {
    if (this.#active < this.#maxActive) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= this.#maxQueued) return Promise.resolve('queue_full');
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          resolve(this.#releaser());
        },
        timer: setTimeout(() => {
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          resolve('queue_timeout');
        }, waitMs),
      };
      this.#waiting.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter: `active` stays the same.
      if (next !== undefined) next.grant();
      else this.#active--;
    };
  }
}

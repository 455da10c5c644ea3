/**
 * Notices a NATS server that went silent while the connection stays open (stalled, stopped
 * with `SIGSTOP`, cut off without a reset). Core NATS publishes are never answered, so the
 * client would buffer them for as long as its own ping takes to give up (minutes by default).
 * Instead, while publishes flow, one round trip (a `flush`: PING, PONG) is timed at most every
 * half `timeoutMs`, one at a time; one not answered within `timeoutMs` makes the server
 * {@link silent} until a round trip completes. While it is silent the backend refuses publishes
 * at once, so a stalled server holds at most about 1.5 x `timeoutMs` of publishes in memory.
 * @internal
 */
export class SilenceWatch {
  readonly #timeoutMs: number;
  readonly #everyMs: number;
  #silent = false;
  #inFlight = false;
  #lastStart = 0;
  /** Bumped by {@link reset}: a round trip of an earlier connection no longer counts. */
  #generation = 0;

  /** @param timeoutMs - how long a round trip may take before the server counts as silent. */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#everyMs = Math.max(50, Math.floor(timeoutMs / 2));
  }

  /** True once a round trip went unanswered for the timeout, until one completes. */
  get silent(): boolean {
    return this.#silent;
  }

  /**
   * Called after each burst of publishes: starts a timed round trip (`roundTrip()`) unless one
   * is in flight or one started less than half the timeout ago. Cheap otherwise: one clock read.
   */
  probe(roundTrip: () => Promise<void>): void {
    if (this.#inFlight) return;
    const now = Date.now();
    if (now - this.#lastStart < this.#everyMs) return;
    this.#inFlight = true;
    this.#lastStart = now;
    const generation = this.#generation;
    const timer = setTimeout(() => {
      if (generation === this.#generation) this.#silent = true;
    }, this.#timeoutMs);
    const done = () => {
      clearTimeout(timer);
      if (generation !== this.#generation) return;
      this.#inFlight = false;
      this.#silent = false;
    };
    let trip: Promise<void>;
    try {
      trip = roundTrip();
    } catch {
      done();
      return;
    }
    // A failed round trip (the connection broke) ends the silence too: the link state says the rest.
    trip.then(done, done);
  }

  /** Forgets the round trip in flight and the silence (a new connection, a stop). */
  reset(): void {
    this.#generation++;
    this.#silent = false;
    this.#inFlight = false;
    this.#lastStart = 0;
  }
}

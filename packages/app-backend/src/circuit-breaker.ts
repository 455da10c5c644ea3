/**
 * The state of a proxy route's circuit breaker: `closed` (requests go), `open` (refused at
 * once until the cooldown ends), `half_open` (one trial request goes; its outcome closes or
 * reopens the breaker).
 */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** What {@link CircuitBreaker.admit} decides. @internal */
export type Admission = { admitted: true } | { admitted: false; retryAfterMs: number };

/**
 * Opens after `threshold` failures in a row, so that a failing application is not asked again
 * on every frame (each would wait for the timeout); after `cooldownMs` one trial request goes,
 * and its success closes the breaker. @internal
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  #state: BreakerState = 'closed';
  #failuresInARow = 0;
  #openedAt = 0;
  #trialRunning = false;
  /** How many times it opened. */
  opened = 0;

  constructor(threshold: number, cooldownMs: number) {
    this.#threshold = threshold;
    this.#cooldownMs = cooldownMs;
  }

  /** The state now (an open breaker whose cooldown ended reads `half_open`). */
  state(now = Date.now()): BreakerState {
    if (this.#state === 'open' && now - this.#openedAt >= this.#cooldownMs) return 'half_open';
    return this.#state;
  }

  /** Failures in a row so far. */
  get failuresInARow(): number {
    return this.#failuresInARow;
  }

  /**
   * May a request go now? In `half_open` only one trial goes at a time; each admitted request
   * must end in {@link succeeded}, {@link failed} or {@link abandoned}.
   */
  admit(now = Date.now()): Admission {
    const state = this.state(now);
    if (state === 'closed') return { admitted: true };
    if (state === 'open') {
      return { admitted: false, retryAfterMs: Math.max(1, this.#cooldownMs - (now - this.#openedAt)) };
    }
    if (this.#trialRunning) return { admitted: false, retryAfterMs: this.#cooldownMs };
    this.#state = 'half_open';
    this.#trialRunning = true;
    return { admitted: true };
  }

  /** The application answered: the breaker closes. */
  succeeded(): void {
    this.#failuresInARow = 0;
    this.#trialRunning = false;
    this.#state = 'closed';
  }

  /** The application failed (timeout, unreachable, 5xx, unreadable answer). */
  failed(now = Date.now()): void {
    this.#failuresInARow++;
    const trial = this.#trialRunning;
    this.#trialRunning = false;
    if (trial || (this.#state === 'closed' && this.#failuresInARow >= this.#threshold)) {
      this.#state = 'open';
      this.#openedAt = now;
      this.opened++;
    }
  }

  /** An admitted request was not sent after all (no slot): a trial may go again. */
  abandoned(): void {
    this.#trialRunning = false;
  }
}

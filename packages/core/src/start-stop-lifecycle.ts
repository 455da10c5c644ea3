/** The two steps a {@link StartStopLifecycle} orders. */
export interface StartStopSteps {
  /** Opens the resource (connects). A rejection fails `start`, which may then be called again. */
  open(): Promise<void>;
  /** Closes what `open` opened; called once per stop, after `open` has settled. */
  close(): Promise<void>;
}

/**
 * The start/stop ordering a backend (or any resource with a connection) needs, kept in one
 * place: `start` and `stop` are idempotent, `stop` waits for a `start` under way, a `start`
 * after (or during) a `stop` waits for the close and opens again, and a failed `start` can be
 * retried.
 *
 * @example
 * readonly #life = new StartStopLifecycle({ open: () => this.#connect(), close: () => this.#close() })
 * start(deliver) { this.#deliver = deliver; return this.#life.start() }
 * stop() { return this.#life.stop() }
 */
export class StartStopLifecycle {
  readonly #steps: StartStopSteps;
  #starting: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;
  /** The close under way, until it has finished (even when a new `start` is waiting for it). */
  #closing: Promise<void> | null = null;

  /** `steps` are called only through {@link start} and {@link stop}. */
  constructor(steps: StartStopSteps) {
    this.#steps = steps;
  }

  /**
   * Opens once: while started (or starting), returns the same promise. After `stop` (even one
   * still closing), waits for the close, then opens again. A failed open is forgotten, so the
   * next call tries again. With no close under way, `open` is called before this returns.
   */
  start(): Promise<void> {
    if (this.#starting === null || this.#stopping !== null) {
      const closing = this.#closing;
      this.#stopping = null;
      const opened =
        closing === null ? this.#open() : closing.catch(() => undefined).then(() => this.#open());
      const starting: Promise<void> = opened.catch((error: unknown) => {
        if (this.#starting === starting) this.#starting = null;
        throw error;
      });
      this.#starting = starting;
    }
    return this.#starting;
  }

  async #open(): Promise<void> {
    await this.#steps.open();
  }

  /**
   * Closes once, after a `start` under way has settled; resolves at once when never started
   * (or when the last start failed). Calling it again returns the same promise.
   */
  stop(): Promise<void> {
    const starting = this.#starting;
    if (starting === null) return Promise.resolve();
    if (this.#stopping === null) {
      const close = () => this.#steps.close();
      const stopping: Promise<void> = starting.then(close, close).finally(() => {
        if (this.#closing === stopping) this.#closing = null;
      });
      this.#stopping = stopping;
      this.#closing = stopping;
    }
    return this.#stopping;
  }

  /**
   * `resource` (a connection) while it may be used: not null, and no {@link stop} since the
   * last {@link start}. Otherwise throws `notStarted()`, e.g. a backend's `not_started` error.
   */
  running<T>(resource: T | null, notStarted: () => Error): T {
    if (resource === null || this.stopped) throw notStarted();
    return resource;
  }

  /**
   * True from a call to {@link stop} until its close has finished and no `start` followed, or
   * until a following `start` begins to open: the resource must not be used meanwhile.
   */
  get stopped(): boolean {
    return this.#stopping !== null || this.#closing !== null;
  }
}

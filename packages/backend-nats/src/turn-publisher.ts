/** One publish waiting for the end of the turn. */
interface Pending {
  subject: string;
  payload: Uint8Array;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Holds publishes until the end of the event-loop turn and then hands them to the client in one
 * burst, so that the NATS client writes them with one system call instead of one per handful
 * (it flushes its buffer once per microtask checkpoint, and a busy node publishes from many).
 * Order is kept: publishes go out as they came, and a `flush()` (before a drain, say) sends what
 * is held at once.
 */
export class TurnPublisher {
  #pending: Pending[] = [];
  #scheduled = false;
  readonly #send: (subject: string, payload: Uint8Array) => void;
  readonly #afterBurst: () => void;
  readonly #flush = () => this.flush();

  /**
   * @param send - publishes one message now (throws when the client refuses it).
   * @param afterBurst - called once after each burst was handed over.
   */
  constructor(send: (subject: string, payload: Uint8Array) => void, afterBurst: () => void = () => {}) {
    this.#send = send;
    this.#afterBurst = afterBurst;
  }

  /** Publishes at the end of this turn; resolves once the client took it, rejects with what it threw. */
  publish(subject: string, payload: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ subject, payload, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /** Hands every held publish to the client now, in order. */
  flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    for (const p of pending) {
      try {
        this.#send(p.subject, p.payload);
        p.resolve();
      } catch (error) {
        p.reject(error);
      }
    }
    this.#afterBurst();
  }
}

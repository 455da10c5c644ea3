/**
 * What a burst settles with: the publishes the client refused, by their place in the burst, with
 * what it threw; null when it took them all (the usual case).
 */
type Refusals = ReadonlyMap<number, unknown> | null;

/** The publishes of one turn, and the one promise they all wait on. */
class Burst {
  readonly subjects: string[] = [];
  readonly payloads: Uint8Array[] = [];
  readonly settled: Promise<Refusals>;
  settle!: (refusals: Refusals) => void;

  constructor() {
    this.settled = new Promise<Refusals>((resolve) => {
      this.settle = resolve;
    });
  }
}

/**
 * Holds publishes until the end of the event-loop turn and then hands them to the client in one
 * burst, so that the NATS client writes them with one system call instead of one per handful
 * (it flushes its buffer once per microtask checkpoint, and a busy node publishes from many).
 * Order is kept: publishes go out as they came, and a `flush()` (before a drain, say) sends what
 * is held at once.
 *
 * A burst costs one promise, which every publish of it waits on; a publish the client refuses
 * (it throws) rejects alone, with what `refused` makes of the error, and the others of the burst
 * resolve.
 */
export class TurnPublisher {
  #burst: Burst | null = null;
  readonly #send: (subject: string, payload: Uint8Array) => void;
  readonly #afterBurst: (handed: number) => void;
  readonly #refused: (error: unknown, tag: string) => unknown;
  readonly #flush = () => this.flush();

  /**
   * @param send - publishes one message now (throws when the client refuses it).
   * @param afterBurst - called once after each burst was handed over, with how many the client took.
   * @param refused - the error a refused publish rejects with, from what `send` threw and the
   *   publish's tag; called once per refused publish.
   */
  constructor(
    send: (subject: string, payload: Uint8Array) => void,
    afterBurst: (handed: number) => void = () => {},
    refused: (error: unknown, tag: string) => unknown = (error) => error,
  ) {
    this.#send = send;
    this.#afterBurst = afterBurst;
    this.#refused = refused;
  }

  /**
   * Publishes at the end of this turn; resolves once the client took it, rejects with what
   * `refused` makes of what it threw. `tag` (the gateway topic, say) is handed to `refused`.
   */
  publish(subject: string, payload: Uint8Array, tag: string): Promise<void> {
    let burst = this.#burst;
    if (burst === null) {
      burst = new Burst();
      this.#burst = burst;
      setImmediate(this.#flush);
    }
    const index = burst.subjects.length;
    burst.subjects.push(subject);
    burst.payloads.push(payload);
    return burst.settled.then((refusals) => {
      if (refusals?.has(index)) throw this.#refused(refusals.get(index), tag);
    });
  }

  /** Hands every held publish to the client now, in order. */
  flush(): void {
    const burst = this.#burst;
    if (burst === null) return;
    this.#burst = null;
    const { subjects, payloads } = burst;
    let refusals: Map<number, unknown> | null = null;
    for (let i = 0; i < subjects.length; i++) {
      try {
        this.#send(subjects[i] as string, payloads[i] as Uint8Array);
      } catch (error) {
        refusals ??= new Map();
        refusals.set(i, error);
      }
    }
    burst.settle(refusals);
    this.#afterBurst(subjects.length - (refusals?.size ?? 0));
  }
}

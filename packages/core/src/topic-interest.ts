import type { Backend } from './backend';

/**
 * Reference-counted backend subscriptions. The first `acquire` of a topic subscribes it and the
 * last `release` unsubscribes it; operations on one topic run strictly in order, so a quick
 * subscribe-unsubscribe-subscribe ends subscribed. Backend failures are reported, not thrown:
 * local delivery goes on and the backend resubscribes when its broker returns.
 */
export class TopicInterest {
  readonly #refs = new Map<string, number>();
  readonly #pending = new Map<string, Promise<void>>();
  readonly #backend: Backend;
  readonly #onError: (error: unknown, topic: string) => void;

  constructor(backend: Backend, onError: (error: unknown, topic: string) => void) {
    this.#backend = backend;
    this.#onError = onError;
  }

  /** Topics with at least one holder. */
  get topicCount(): number {
    return this.#refs.size;
  }

  /** Takes a hold on `topic`; resolves once the backend subscription is in place. */
  acquire(topic: string): Promise<void> {
    const refs = (this.#refs.get(topic) ?? 0) + 1;
    this.#refs.set(topic, refs);
    if (refs === 1) return this.#enqueue(topic, () => this.#backend.subscribe(topic));
    return this.#pending.get(topic) ?? Promise.resolve();
  }

  /** Lets go of `topic`; the last holder's release unsubscribes it. */
  release(topic: string): void {
    const refs = (this.#refs.get(topic) ?? 0) - 1;
    if (refs > 0) {
      this.#refs.set(topic, refs);
      return;
    }
    if (refs < 0) return;
    this.#refs.delete(topic);
    void this.#enqueue(topic, () => this.#backend.unsubscribe(topic));
  }

  /** Resolves when every queued operation has run. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending.values());
  }

  #enqueue(topic: string, op: () => Promise<void>): Promise<void> {
    const prev = this.#pending.get(topic) ?? Promise.resolve();
    const next = prev.then(op).catch((error: unknown) => {
      try {
        this.#onError(error, topic);
      } catch {
        // A reporter that throws must not leave a rejection behind.
      }
    });
    this.#pending.set(topic, next);
    void next.then(() => {
      if (this.#pending.get(topic) === next) this.#pending.delete(topic);
    });
    return next;
  }
}

import type { Backend } from './backend';

/**
 * The one owner of "which backend topics this node needs". The registries tell it when a
 * channel, user or tenant gains its first local session ({@link need}) or loses its last one
 * ({@link drop}); the counts themselves are the registries' set sizes, kept nowhere else.
 * Backend operations on one topic run strictly in order, so a quick need-drop-need ends
 * subscribed. Backend failures are reported, not thrown: local delivery goes on and the backend
 * resubscribes when its broker returns.
 */
export class TopicInterest {
  readonly #topics = new Set<string>();
  readonly #pending = new Map<string, Promise<void>>();
  readonly #backend: Backend;
  readonly #onError: (error: unknown, topic: string) => void;

  constructor(backend: Backend, onError: (error: unknown, topic: string) => void) {
    this.#backend = backend;
    this.#onError = onError;
  }

  /** Topics this node needs. */
  get topicCount(): number {
    return this.#topics.size;
  }

  /** True when this node needs `topic`. */
  has(topic: string): boolean {
    return this.#topics.has(topic);
  }

  /** Marks `topic` needed; resolves once the backend subscription is in place. Idempotent. */
  need(topic: string): Promise<void> {
    if (this.#topics.has(topic)) return this.ready(topic);
    this.#topics.add(topic);
    return this.#enqueue(topic, () => this.#backend.subscribe(topic));
  }

  /** Marks `topic` no longer needed and unsubscribes it. Idempotent. */
  drop(topic: string): void {
    if (!this.#topics.delete(topic)) return;
    void this.#enqueue(topic, () => this.#backend.unsubscribe(topic));
  }

  /** Resolves when the backend operations queued for `topic` so far have run. */
  ready(topic: string): Promise<void> {
    return this.#pending.get(topic) ?? Promise.resolve();
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

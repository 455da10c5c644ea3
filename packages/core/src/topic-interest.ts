import type { Backend } from './backend';
import { promiseTry } from './promise-try';

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

  /**
   * Runs `op` after the operations already queued for `topic`: at once when there are none
   * (the common case: a user's or a channel's first session), without waiting a turn behind an
   * empty queue. The returned promise settles after `op` did, never rejects, and leaves the queue
   * in the same step: one promise per operation besides the backend's own.
   */
  #enqueue(topic: string, op: () => Promise<void>): Promise<void> {
    const prev = this.#pending.get(topic);
    const started = prev === undefined ? promiseTry(op) : prev.then(op);
    const next: Promise<void> = started.then(
      () => this.#settled(topic, next),
      (error: unknown) => {
        try {
          this.#onError(error, topic);
        } catch {
          // A reporter that throws must not leave a rejection behind.
        }
        this.#settled(topic, next);
      },
    );
    this.#pending.set(topic, next);
    return next;
  }

  /** `done` ran: the topic's queue is empty unless another operation was queued behind it. */
  #settled(topic: string, done: Promise<void>): void {
    if (this.#pending.get(topic) === done) this.#pending.delete(topic);
  }
}

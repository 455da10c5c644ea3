import type { Backend, BackendDeliver } from './backend';
import { BackendUnavailableError } from './backend-unavailable-error';
import type { ComponentHealth } from './health';
import { MemberIndex } from './member-index';

/**
 * An in-process message bus. Gateways whose `MemoryBackend`s share one bus behave like nodes
 * of a cluster inside one process, which is how multi-node behaviour is tested without a broker.
 */
export class MemoryBus {
  // Most topics (a user's, a small channel's) have one member: held without a set around it.
  readonly #topics = new MemberIndex<string, MemoryBackend>();
  /** How many topics each member is joined to: who is on the bus at all. */
  readonly #memberTopics = new Map<MemoryBackend, number>();

  /** @internal */
  join(topic: string, member: MemoryBackend): void {
    if (this.#topics.has(topic, member)) return;
    this.#topics.add(topic, member);
    this.#memberTopics.set(member, (this.#memberTopics.get(member) ?? 0) + 1);
  }

  /** @internal */
  leave(topic: string, member: MemoryBackend): void {
    if (!this.#topics.has(topic, member)) return;
    this.#topics.delete(topic, member);
    const left = (this.#memberTopics.get(member) ?? 1) - 1;
    if (left === 0) this.#memberTopics.delete(member);
    else this.#memberTopics.set(member, left);
  }

  /** True when no member but `member` is joined to any topic (a single node). @internal */
  alone(member: MemoryBackend): boolean {
    const n = this.#memberTopics.size;
    return n === 0 || (n === 1 && this.#memberTopics.has(member));
  }

  /** The members subscribed to `topic`. */
  members(topic: string): ReadonlySet<MemoryBackend> {
    return new Set(this.#topics.get(topic));
  }

  /** The members subscribed to `topic`, without copying them into a set. @internal */
  each(topic: string): Iterable<MemoryBackend> {
    return this.#topics.get(topic);
  }
}

/** Options of a {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** The bus to share with other gateways in this process. @default a bus of its own */
  bus?: MemoryBus;
}

/**
 * The in-memory backend: one process, no broker. Alone it makes a single-node gateway; several
 * sharing a {@link MemoryBus} make a cluster inside one process. Deliveries are asynchronous
 * (a microtask later) and in publish order, as they would be over a broker; a member does not
 * receive its own publishes.
 */
export class MemoryBackend implements Backend {
  readonly name = 'memory';
  readonly #bus: MemoryBus;
  readonly #subscribed = new Set<string>();
  #deliver: BackendDeliver | null = null;
  #published = 0;
  #received = 0;

  constructor(options: MemoryBackendOptions = {}) {
    this.#bus = options.bus ?? new MemoryBus();
  }

  async start(deliver: BackendDeliver): Promise<void> {
    this.#deliver = deliver;
  }

  async subscribe(topic: string): Promise<void> {
    this.#subscribed.add(topic);
    this.#bus.join(topic, this);
  }

  async unsubscribe(topic: string): Promise<void> {
    this.#subscribed.delete(topic);
    this.#bus.leave(topic, this);
  }

  /** True when no other member of the bus receives `topic` (and this backend is started). */
  reachesNoOtherNode(topic: string): boolean {
    if (this.#deliver === null) return false;
    // Checked first: a lone node skips looking the topic up (and building its string).
    if (this.#bus.alone(this)) return true;
    for (const member of this.#bus.each(topic)) if (member !== this) return false;
    return true;
  }

  /** Hands `payload` to the other members; rejects with `BackendUnavailableError` when not started. */
  async publish(topic: string, payload: Uint8Array): Promise<void> {
    if (this.#deliver === null) {
      throw new BackendUnavailableError('the memory backend is not started');
    }
    this.#published++;
    for (const member of this.#bus.each(topic)) {
      if (member !== this) queueMicrotask(() => member.#receive(topic, payload));
    }
  }

  #receive(topic: string, payload: Uint8Array): void {
    // A member that left or stopped after the publish no longer receives.
    if (this.#deliver === null || !this.#subscribed.has(topic)) return;
    this.#received++;
    this.#deliver(topic, payload);
  }

  async health(): Promise<ComponentHealth> {
    return {
      status: this.#deliver === null ? 'unhealthy' : 'healthy',
      backend: 'memory',
      topics: this.#subscribed.size,
    };
  }

  stats(): Record<string, number> {
    return { published: this.#published, received: this.#received, topics: this.#subscribed.size };
  }

  async stop(): Promise<void> {
    for (const topic of this.#subscribed) this.#bus.leave(topic, this);
    this.#subscribed.clear();
    this.#deliver = null;
  }
}

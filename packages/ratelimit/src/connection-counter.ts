import type { LimitScope } from './options';

/** One open-connection count to check: whose, and its limit. */
export interface CounterRef {
  readonly scope: LimitScope;
  /** The address, user id or tenant id. */
  readonly id: string;
  /** Most open connections allowed (at least 1). */
  readonly limit: number;
}

/** Counts open connections per address, user and tenant. */
export interface ConnectionCounter {
  /**
   * Counts one more connection for every ref, unless one of them is at its limit: then nothing
   * is counted and that ref's scope is returned.
   */
  acquire(refs: readonly CounterRef[]): Promise<LimitScope | null> | LimitScope | null;
  /** Counts one connection less for every ref (of an earlier successful acquire). */
  release(refs: readonly CounterRef[]): Promise<void> | void;
  /** The open connections of each ref. */
  count(refs: readonly CounterRef[]): Promise<readonly number[]> | readonly number[];
}

/**
 * Open-connection counts in this process: the default, and the insurance counter while Redis
 * is unreachable. A count that drops to zero is forgotten.
 */
export class MemoryConnectionCounter implements ConnectionCounter {
  readonly #open = new Map<string, number>();

  acquire(refs: readonly CounterRef[]): LimitScope | null {
    for (const r of refs) {
      if ((this.#open.get(keyOf(r)) ?? 0) >= r.limit) return r.scope;
    }
    for (const r of refs) {
      const k = keyOf(r);
      this.#open.set(k, (this.#open.get(k) ?? 0) + 1);
    }
    return null;
  }

  release(refs: readonly CounterRef[]): void {
    for (const r of refs) {
      const k = keyOf(r);
      const n = (this.#open.get(k) ?? 0) - 1;
      if (n > 0) this.#open.set(k, n);
      else this.#open.delete(k);
    }
  }

  count(refs: readonly CounterRef[]): number[] {
    return refs.map((r) => this.#open.get(keyOf(r)) ?? 0);
  }

  /** The number of keys held (for tests and stats). */
  get size(): number {
    return this.#open.size;
  }
}

function keyOf(r: CounterRef): string {
  return `${r.scope}:${r.id}`;
}

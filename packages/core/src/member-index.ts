/**
 * Members grouped by key, kept lean for keys with one member: a user's sessions, a topic's
 * nodes. Such a key holds its member itself; a set is made only when a second one joins (a
 * one-member `Set` costs about 150 bytes, more than the session's user entry around it).
 * Members must not be sets themselves.
 * @internal
 */
export class MemberIndex<K, M extends object> {
  readonly #map = new Map<K, M | Set<M>>();

  /** Number of keys with at least one member. */
  get size(): number {
    return this.#map.size;
  }

  /** Adds `member` under `key`; true when it is the key's first member. */
  add(key: K, member: M): boolean {
    const held = this.#map.get(key);
    if (held === undefined) {
      this.#map.set(key, member);
      return true;
    }
    if (held instanceof Set) held.add(member);
    else if (held !== member) this.#map.set(key, new Set([held, member]));
    return false;
  }

  /** Takes `member` out of `key`; true when the key's last member left (the key is gone). */
  delete(key: K, member: M): boolean {
    const held = this.#map.get(key);
    if (held === undefined) return false;
    if (!(held instanceof Set)) {
      if (held !== member) return false;
      this.#map.delete(key);
      return true;
    }
    if (!held.delete(member)) return false;
    if (held.size > 1) return false;
    // Back to one member: held as itself again.
    const [last] = held;
    if (last === undefined) this.#map.delete(key);
    else this.#map.set(key, last);
    return last === undefined;
  }

  /** True when `member` is under `key`. */
  has(key: K, member: M): boolean {
    const held = this.#map.get(key);
    return held instanceof Set ? held.has(member) : held === member;
  }

  /** The members under `key` (none when it has none). A caller may delete while iterating. */
  get(key: K): Iterable<M> {
    const held = this.#map.get(key);
    if (held === undefined) return NONE;
    return held instanceof Set ? held : [held];
  }

  /** How many members `key` has. */
  count(key: K): number {
    const held = this.#map.get(key);
    if (held === undefined) return 0;
    return held instanceof Set ? held.size : 1;
  }

  /** Each key with its number of members. */
  *counts(): IterableIterator<[K, number]> {
    for (const [key, held] of this.#map) yield [key, held instanceof Set ? held.size : 1];
  }
}

const NONE: readonly never[] = [];

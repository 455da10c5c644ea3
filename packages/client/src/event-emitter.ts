/** A listener of event `K` of the event map `E`. */
export type Listener<E, K extends keyof E> = (event: E[K]) => void;

/**
 * A tiny typed emitter (no dependency, same in browsers and Node). A listener that throws does
 * not stop the others; its error is reported to `onListenerError`.
 */
export class TypedEmitter<E> {
  readonly #listeners = new Map<keyof E, Set<(event: never) => void>>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof E>(type: K, listener: Listener<E, K>): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener as (event: never) => void);
    return () => this.off(type, listener);
  }

  /** Adds a listener that runs once. */
  once<K extends keyof E>(type: K, listener: Listener<E, K>): () => void {
    const off = this.on(type, (event) => {
      off();
      listener(event);
    });
    return off;
  }

  /** Removes a listener. */
  off<K extends keyof E>(type: K, listener: Listener<E, K>): void {
    this.#listeners.get(type)?.delete(listener as (event: never) => void);
  }

  /** Calls every listener of `type`. @internal */
  emit<K extends keyof E>(type: K, event: E[K]): void {
    const set = this.#listeners.get(type);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<E, K>)(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}

import type { HookRunner } from './hook-runner';

/**
 * The `onClose` callbacks of one connection, from the handshake on: they run exactly once,
 * however the connection ends (closed, terminated, refused by later middleware, or lost before
 * the upgrade). Kept apart from the handshake's own scope so that an open connection holds
 * these few fields, not the upgrade request it came from. @internal
 */
export class ConnectionEnd {
  #callbacks: (() => void)[] | null = null;
  #ended = false;
  /** Set once the WebSocket is open: from then on the connection runs the callbacks itself. */
  opened = false;
  readonly #hooks: HookRunner;

  constructor(hooks: HookRunner) {
    this.#hooks = hooks;
  }

  /** Registers `callback` (runs it at once when the connection has already ended). */
  readonly add = (callback: () => void): void => {
    if (this.#ended) {
      callback();
      return;
    }
    this.#callbacks ??= [];
    this.#callbacks.push(callback);
  };

  /** Runs the callbacks, once; one that throws is reported and the others still run. */
  run(): void {
    if (this.#ended) return;
    this.#ended = true;
    const callbacks = this.#callbacks;
    this.#callbacks = null;
    for (const cb of callbacks ?? []) {
      try {
        cb();
      } catch (error) {
        this.#hooks.reportError(error, 'connection onClose callback');
      }
    }
  }

  /** The socket closed: before the upgrade completed, the callbacks run here. */
  readonly socketClosed = (): void => {
    if (!this.opened) this.run();
  };
}

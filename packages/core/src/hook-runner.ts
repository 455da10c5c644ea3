import type { Logger } from './logger';
import type { BroadcastEvent, ObservabilityHooks } from './observability-hooks';
import type { WebSocketSession } from './session';

/**
 * Calls the observability hooks and reports errors: a hook that throws is logged and
 * ignored, so that telemetry can never break a connection. @internal
 */
export class HookRunner {
  /** The current hooks (`gateway.setObservabilityHooks`). */
  hooks: ObservabilityHooks | undefined;
  readonly #logger: Logger;
  readonly #nodeId: string;

  constructor(hooks: ObservabilityHooks | undefined, logger: Logger, nodeId: string) {
    this.hooks = hooks;
    this.#logger = logger;
    this.#nodeId = nodeId;
  }

  /** Calls one hook if it is set; returns its result, or undefined when unset or it threw. */
  call<T>(name: keyof ObservabilityHooks, call: (hooks: ObservabilityHooks) => T): T | undefined {
    const hooks = this.hooks;
    if (hooks === undefined || hooks[name] === undefined) return undefined;
    try {
      return call(hooks);
    } catch (error) {
      this.hookThrew(name, error);
      return undefined;
    }
  }

  /** Logs a hook that threw; never fed back into `onError` (which could throw in turn). */
  // The hooks of every frame and broadcast, with the property read directly (a keyed read by
  // name, as `call` does, turns megamorphic on the hot path).

  /** `onMessage` of an inbound frame. */
  onMessage(session: WebSocketSession, type: string, bytes: number): void {
    const hooks = this.hooks;
    if (hooks?.onMessage === undefined) return;
    try {
      hooks.onMessage(session, type, bytes);
    } catch (error) {
      this.hookThrew('onMessage', error);
    }
  }

  /** True when an `onBroadcast` hook listens (build its event only then). */
  get wantsBroadcasts(): boolean {
    return this.hooks?.onBroadcast !== undefined;
  }

  /** `onBroadcast` of a broadcast delivered on this node. */
  onBroadcast(event: BroadcastEvent): void {
    const hooks = this.hooks;
    if (hooks?.onBroadcast === undefined) return;
    try {
      hooks.onBroadcast(event);
    } catch (error) {
      this.hookThrew('onBroadcast', error);
    }
  }

  /** `currentTraceparent`: the trace a broadcast published now belongs to, if any. */
  currentTraceparent(): string | undefined {
    const hooks = this.hooks;
    if (hooks?.currentTraceparent === undefined) return undefined;
    try {
      return hooks.currentTraceparent();
    } catch (error) {
      this.hookThrew('currentTraceparent', error);
      return undefined;
    }
  }

  hookThrew(name: keyof ObservabilityHooks, error: unknown): void {
    this.#logger.error({ error, hook: name }, 'an observability hook threw');
  }

  /** Logs an error of the gateway's own and hands it to `onError`. */
  reportError(error: unknown, context: string): void {
    this.#logger.error({ error, context, node_id: this.#nodeId }, `error in ${context}`);
    this.call('onError', (h) => h.onError?.(error, context));
  }
}

import type { Logger } from './logger';
import type { ObservabilityHooks } from './observability-hooks';

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
  hookThrew(name: keyof ObservabilityHooks, error: unknown): void {
    this.#logger.error({ error, hook: name }, 'an observability hook threw');
  }

  /** Logs an error of the gateway's own and hands it to `onError`. */
  reportError(error: unknown, context: string): void {
    this.#logger.error({ error, context, node_id: this.#nodeId }, `error in ${context}`);
    this.call('onError', (h) => h.onError?.(error, context));
  }
}

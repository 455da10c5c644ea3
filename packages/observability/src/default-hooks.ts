import type { Logger, ObservabilityHooks, WebSocketSession } from '@dotmac-ws/core';
import { silentLogger } from '@dotmac-ws/core';

/** Called when a session opened. */
export type ConnectionHandler = (session: WebSocketSession) => void | Promise<void>;
/** Called when a session closed, with its close code and reason. */
export type DisconnectHandler = (
  session: WebSocketSession,
  code: number,
  reason: string,
) => void | Promise<void>;
/** Called for each inbound frame (before middleware), with its type and size. */
export type MessageObserver = (
  session: WebSocketSession,
  type: string,
  bytes: number,
) => void | Promise<void>;
/** Called when the gateway reports an error; `context` says where. */
export type ErrorHandler = (error: unknown, context: string) => void | Promise<void>;

/** Options of {@link createDefaultHooks}. */
export interface DefaultHooksOptions {
  /** Where a failing handler is logged. @default silentLogger */
  logger?: Logger;
}

/**
 * Observability hooks that call the handlers you add. A handler that throws or rejects is
 * logged and skipped: it never breaks the session, the other handlers, or the gateway.
 *
 * @example
 * const hooks = createDefaultHooks({ logger })
 *   .addConnectionHandler((s) => audit.opened(s.sessionId))
 *   .addDisconnectHandler((s, code) => audit.closed(s.sessionId, code))
 * gateway.setObservabilityHooks(hooks)
 */
export class DefaultHooks implements ObservabilityHooks {
  /** Where failing handlers are logged. */
  protected readonly logger: Logger;
  readonly #connection: ConnectionHandler[] = [];
  readonly #disconnect: DisconnectHandler[] = [];
  readonly #message: MessageObserver[] = [];
  readonly #error: ErrorHandler[] = [];

  constructor(options: DefaultHooksOptions = {}) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Adds a handler of opened sessions. */
  addConnectionHandler(handler: ConnectionHandler): this {
    this.#connection.push(checked(handler, 'connection'));
    return this;
  }

  /** Adds a handler of closed sessions. */
  addDisconnectHandler(handler: DisconnectHandler): this {
    this.#disconnect.push(checked(handler, 'disconnect'));
    return this;
  }

  /** Adds an observer of inbound frames (it runs on the hot path: keep it cheap). */
  addMessageHandler(handler: MessageObserver): this {
    this.#message.push(checked(handler, 'message'));
    return this;
  }

  /** Adds a handler of errors the gateway reports. */
  addErrorHandler(handler: ErrorHandler): this {
    this.#error.push(checked(handler, 'error'));
    return this;
  }

  onConnection(session: WebSocketSession): void {
    for (const h of this.#connection) this.#run('connection', session, () => h(session));
  }

  onDisconnect(session: WebSocketSession, code: number, reason: string): void {
    for (const h of this.#disconnect) this.#run('disconnect', session, () => h(session, code, reason));
  }

  onMessage(session: WebSocketSession, type: string, bytes: number): void {
    for (const h of this.#message) this.#run('message', session, () => h(session, type, bytes));
  }

  onError(error: unknown, context: string): void {
    for (const h of this.#error) this.#run('error', null, () => h(error, context));
  }

  #run(kind: string, session: WebSocketSession | null, call: () => void | Promise<void>): void {
    const fail = (error: unknown) =>
      this.logger.error(
        { error, handler: kind, session_id: session?.sessionId },
        `a ${kind} handler failed; the session goes on`,
      );
    try {
      const result = call();
      if (result instanceof Promise) result.catch(fail);
    } catch (error) {
      fail(error);
    }
  }
}

function checked<T>(handler: T, kind: string): T {
  if (typeof handler !== 'function') throw new TypeError(`the ${kind} handler must be a function`);
  return handler;
}

/** Creates {@link DefaultHooks}: add handlers, then pass them to `gateway.setObservabilityHooks()`. */
export function createDefaultHooks(options: DefaultHooksOptions = {}): DefaultHooks {
  return new DefaultHooks(options);
}

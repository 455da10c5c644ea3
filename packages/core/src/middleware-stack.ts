import {
  type ConnectionContext,
  type ConnectionMiddleware,
  compose,
  type GatewayMiddleware,
  type IdentityContext,
  type IdentityMiddleware,
  type MessageContext,
  type MessageMiddleware,
} from './middleware';

/**
 * The middleware added with `gateway.use()`, composed per kind: connection (before each
 * upgrade), message (before each frame is routed, ending in `route`), identity (when a live
 * session authenticates in-band). @internal
 */
export class MiddlewareStack {
  readonly #connection: ConnectionMiddleware[] = [];
  readonly #message: MessageMiddleware[] = [];
  readonly #identity: IdentityMiddleware[] = [];
  readonly #route: (ctx: MessageContext) => Promise<void>;
  /** Runs the connection middleware. */
  runConnection: (ctx: ConnectionContext) => Promise<void>;
  /** Runs the message middleware, then the router. */
  runMessage: (ctx: MessageContext) => Promise<void>;
  /** Runs the identity middleware. */
  runIdentity: (ctx: IdentityContext) => Promise<void>;

  constructor(route: (ctx: MessageContext) => Promise<void>) {
    this.#route = route;
    this.runConnection = compose(this.#connection, () => undefined);
    this.runMessage = compose(this.#message, route);
    this.runIdentity = compose(this.#identity, () => undefined);
  }

  /** True when connection middleware is registered. */
  get hasConnection(): boolean {
    return this.#connection.length > 0;
  }

  /** True when message middleware is registered. */
  get hasMessage(): boolean {
    return this.#message.length > 0;
  }

  /** True when identity middleware is registered. */
  get hasIdentity(): boolean {
    return this.#identity.length > 0;
  }

  /** Adds `middleware` after the ones added before; throws a TypeError when it has no function. */
  add(middleware: GatewayMiddleware): void {
    if (
      typeof middleware?.connection !== 'function' &&
      typeof middleware?.message !== 'function' &&
      typeof middleware?.identity !== 'function'
    ) {
      throw new TypeError(
        'middleware must have a connection(ctx, next), message(ctx, next) or identity(ctx, next) function',
      );
    }
    if (middleware.connection) this.#connection.push(middleware.connection);
    if (middleware.message) this.#message.push(middleware.message);
    if (middleware.identity) this.#identity.push(middleware.identity);
    this.runConnection = compose(this.#connection, () => undefined);
    this.runMessage = compose(this.#message, this.#route);
    this.runIdentity = compose(this.#identity, () => undefined);
  }
}

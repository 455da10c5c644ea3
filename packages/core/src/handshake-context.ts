import type { IncomingMessage } from 'node:http';
import type { Identity } from './authenticator';
import type { WebSocketGateway } from './gateway';
import type { ConnectionContext } from './middleware';

/**
 * What connection middleware sees of one upgrade: the request, the client's address, tenant
 * and identity, and a `state` map that is only made when middleware asks for it (most
 * connections never do, and an open session keeps it for its life). @internal
 */
export class HandshakeContext implements ConnectionContext {
  readonly request: IncomingMessage;
  readonly url: URL;
  readonly ip: string;
  tenantId: string | null;
  identity: Identity | null;
  readonly gateway: WebSocketGateway;
  readonly onClose: (callback: () => void) => void;
  #state: Map<string, unknown> | null = null;

  constructor(init: {
    request: IncomingMessage;
    url: URL;
    ip: string;
    tenantId: string | null;
    identity: Identity | null;
    gateway: WebSocketGateway;
    onClose: (callback: () => void) => void;
  }) {
    this.request = init.request;
    this.url = init.url;
    this.ip = init.ip;
    this.tenantId = init.tenantId;
    this.identity = init.identity;
    this.gateway = init.gateway;
    this.onClose = init.onClose;
  }

  get state(): Map<string, unknown> {
    this.#state ??= new Map();
    return this.#state;
  }

  /** The state map if middleware made one, else null. */
  peekState(): Map<string, unknown> | null {
    return this.#state;
  }
}

/**
 * Why a request ended without a reply from the server:
 * - `timeout`: no reply within its `timeoutMs`;
 * - `disconnected`: it was sent, then the connection was lost before the reply;
 * - `closed`: the client was closed (or gave up reconnecting) before it could be sent;
 * - `queue_full`: the client was not connected and the send queue was full.
 */
export type RequestErrorCode = 'timeout' | 'disconnected' | 'closed' | 'queue_full';

/**
 * A request that the client could not complete: the server never answered it.
 * (A refusal by the server is a {@link ServerError}.)
 */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  /** What happened. */
  readonly code: RequestErrorCode;
  /** The type of the request. */
  readonly requestType: string;

  constructor(code: RequestErrorCode, message: string, requestType: string) {
    super(message);
    this.code = code;
    this.requestType = requestType;
  }
}

/** The part of a WebSocket (browser, Node 22+, or the `ws` package) that the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/**
 * A WebSocket class: the browser's `WebSocket`, Node's global one (Node 22+), or `ws`'s.
 * Typed loosely on purpose, so that every implementation fits without casts.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

/** `WebSocket.OPEN`, the same in every implementation. */
export const WS_OPEN = 1;

/** The global WebSocket, where the runtime has one. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  const candidate = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof candidate === 'function' ? (candidate as WebSocketConstructor) : undefined;
}

/** Closes a socket without waiting for the peer: `terminate()` where it exists (`ws`), else `close()`. */
export function dropSocket(socket: WebSocketLike, code?: number, reason?: string): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = () => undefined;
  try {
    const terminate = (socket as { terminate?: unknown }).terminate;
    if (typeof terminate === 'function' && code === undefined) (terminate as () => void).call(socket);
    else socket.close(code, reason);
  } catch {
    // Closing a socket that never opened may throw; it is gone either way.
  }
}

import net from 'node:net';

let sources = 0;

/**
 * A new source address for each connection of the fuzzer (127.1.0.1, 127.1.0.2, …): every
 * input starts with fresh per-address limits, so that a replayed or shrunk input meets the same
 * limits as the first time; the limits are still reached within one input (a flood).
 */
export function nextSourceAddress(): string {
  const n = sources++ % (254 * 256 * 64);
  return `127.${1 + Math.floor(n / (254 * 256))}.${Math.floor(n / 254) % 256}.${1 + (n % 254)}`;
}

/** Bytes kept of what the server sends on one connection; the rest is only counted. */
const KEEP_BYTES = 1024 * 1024;

/** How a wait on a {@link RawConnection} ended. */
export type WaitOutcome = 'matched' | 'closed' | 'timeout';

/**
 * A TCP connection to the gateway that writes exactly the bytes it is given (a request or
 * frames, valid or not) and records what comes back, and whether and how the server closed.
 */
export class RawConnection {
  readonly socket: net.Socket;
  #chunks: Buffer[] = [];
  #kept = 0;
  /** Bytes received in all, kept or not. */
  receivedBytes = 0;
  /** The server ended its side (FIN), reset the connection or the socket closed. */
  peerClosed = false;
  /** `ECONNRESET` and the like, when the socket failed. */
  error: string | null = null;
  #notify: (() => void) | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.receivedBytes += chunk.length;
      if (this.#kept < KEEP_BYTES) {
        this.#chunks.push(chunk);
        this.#kept += chunk.length;
      }
      this.#notify?.();
    });
    const closed = () => {
      this.peerClosed = true;
      this.#notify?.();
    };
    socket.on('end', closed);
    socket.on('close', closed);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.error = error.code ?? error.message;
      closed();
    });
  }

  /** Connects to 127.0.0.1:`port` from `localAddress` (a 127.0.0.0/8 address). */
  static open(port: number, localAddress: string, ms: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no TCP connection to 127.0.0.1:${port} within ${ms} ms`));
      }, ms);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RawConnection(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Everything received so far (up to the first MiB). */
  received(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  /** Writes `bytes`; false when the connection is already gone. */
  write(bytes: Uint8Array): Promise<boolean> {
    if (this.peerClosed || this.socket.destroyed || !this.socket.writable) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.socket.write(bytes, (error) => resolve(error === undefined || error === null));
    });
  }

  /** Half-closes: the client has nothing more to send. */
  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  /** Waits until `matched()` holds, the server closes, or `ms` pass; rejects with what `matched` throws. */
  until(matched: () => boolean, ms: number): Promise<WaitOutcome> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(() => resolve('timeout')), ms);
      const finish = (settle: () => void): true => {
        clearTimeout(timer);
        this.#notify = null;
        settle();
        return true;
      };
      const check = (): boolean => {
        try {
          if (matched()) return finish(() => resolve('matched'));
        } catch (error) {
          return finish(() => reject(error));
        }
        if (this.peerClosed) return finish(() => resolve('closed'));
        return false;
      };
      if (!check()) this.#notify = check;
    });
  }

  /** Closes the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }
}

/** Parses the status code of an HTTP response at the start of `buf`; null when no full status line yet. */
export function httpStatus(buf: Buffer): number | null {
  const end = buf.indexOf('\r\n');
  if (end < 0) return null;
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(buf.subarray(0, end).toString('latin1'));
  return match ? Number(match[1]) : -1;
}

/** The length of an HTTP response head (through the blank line), or -1 when it is incomplete. */
export function httpHeadLength(buf: Buffer): number {
  const end = buf.indexOf('\r\n\r\n');
  return end < 0 ? -1 : end + 4;
}

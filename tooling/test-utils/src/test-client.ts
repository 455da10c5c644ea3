import WebSocket from 'ws';
import { onCleanup } from './cleanup';

/** A frame as the test client records it. */
export type RecordedFrame = Record<string, unknown> & {
  type?: string;
  id?: unknown;
  channel?: string;
  data?: unknown;
};

/** Options of {@link TestClient.open}. */
export interface TestClientOptions {
  protocols?: string[];
  headers?: Record<string, string>;
  /** Register for automatic closing after the test. @default true */
  autoClose?: boolean;
  /** Source address to connect from (127.0.0.x). */
  localAddress?: string;
}

/** An HTTP refusal of a handshake. */
export class HandshakeRefused extends Error {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string | string[] | undefined>,
    readonly body: string,
  ) {
    super(`handshake refused with HTTP ${status}: ${body}`);
  }
}

/** A WebSocket client for tests: records every frame and the close, with awaitable matchers. */
export class TestClient {
  readonly ws: WebSocket;
  readonly frames: RecordedFrame[] = [];
  closed: { code: number; reason: string } | null = null;
  readonly #waiters: { pred: (f: RecordedFrame) => boolean; resolve: (f: RecordedFrame) => void }[] = [];
  readonly #closedP: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  /** Connects and resolves once open; rejects with {@link HandshakeRefused} on an HTTP refusal. */
  static async open(url: string, options: TestClientOptions = {}): Promise<TestClient> {
    const c = new TestClient(url, options);
    await c.opened;
    return c;
  }

  /** Connects, expecting a refusal; resolves with it. */
  static async refused(url: string, options: TestClientOptions = {}): Promise<HandshakeRefused> {
    const c = new TestClient(url, { ...options });
    try {
      await c.opened;
    } catch (error) {
      if (error instanceof HandshakeRefused) return error;
      throw error;
    }
    c.close();
    throw new Error('the handshake was accepted, a refusal was expected');
  }

  constructor(url: string, options: TestClientOptions = {}) {
    this.ws = new WebSocket(url, options.protocols ?? [], {
      headers: options.headers ?? {},
      perMessageDeflate: false,
      maxPayload: 256 * 1024 * 1024,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    if (options.autoClose !== false) onCleanup(() => this.terminate());
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => reject(new HandshakeRefused(res.statusCode ?? 0, res.headers, body)));
        res.on('error', () => reject(new HandshakeRefused(res.statusCode ?? 0, res.headers, body)));
      });
      this.ws.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.ws.on('message', (buf: Buffer) => {
      let f: RecordedFrame;
      try {
        f = JSON.parse(buf.toString()) as RecordedFrame;
      } catch {
        f = { unparsable: buf.toString() };
      }
      this.frames.push(f);
      for (let i = this.#waiters.length - 1; i >= 0; i--) {
        const w = this.#waiters[i]!;
        if (w.pred(f)) {
          this.#waiters.splice(i, 1);
          w.resolve(f);
        }
      }
    });
    this.#closedP = new Promise((resolve) =>
      this.ws.on('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        resolve(this.closed);
      }),
    );
    this.ws.on('error', () => undefined);
  }

  /** Sends an object as JSON, or a string as it is. */
  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (already received or to come) that matches. */
  waitFor(pred: (f: RecordedFrame) => boolean, ms = 3000, what = 'frame'): Promise<RecordedFrame> {
    const have = this.frames.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.#waiters.push(w);
      setTimeout(() => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) {
          this.#waiters.splice(i, 1);
          reject(
            new Error(`timeout waiting for ${what}; last frames ${JSON.stringify(this.frames.slice(-5))}`),
          );
        }
      }, ms);
    });
  }

  /** Resolves with the `welcome` frame. */
  welcome(): Promise<RecordedFrame> {
    return this.waitFor((f) => f.type === 'welcome', 3000, 'welcome');
  }

  /** Sends a frame with an id (given or random) and resolves with the reply of that id. */
  request(frame: Record<string, unknown>, ms = 3000): Promise<RecordedFrame> {
    const id = frame.id ?? `r${Math.floor(Math.random() * 1e9)}`;
    this.send({ ...frame, id });
    return this.waitFor(
      (f) => f.id === id && (f.type === 'ack' || f.type === 'error' || f.type === 'pong'),
      ms,
      `reply to ${String(frame.type)}`,
    );
  }

  /** Frames received after index `from` (e.g. `c.frames.length` before an action). */
  since(from: number): RecordedFrame[] {
    return this.frames.slice(from);
  }

  /** Resolves with the close code and reason. */
  waitClose(ms = 5000): Promise<{ code: number; reason: string }> {
    return Promise.race([
      this.#closedP,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms),
      ),
    ]);
  }

  close(code?: number): void {
    try {
      this.ws.close(code);
    } catch {}
  }

  terminate(): void {
    try {
      this.ws.terminate();
    } catch {}
  }
}

// A lean WebSocket client for the storms, where the load process must stay cheaper than the
// servers it measures: a raw TCP socket, a fixed upgrade request, frames parsed in place (no
// copy, no per-frame allocation beyond the subarray) and sent with a zero mask key (RFC 6455
// requires a mask, not a random one, from a client that is not a browser). No extensions, no
// fragmentation on send; continuation frames are joined on receive.
import net from 'node:net';

const KEY = 'ZG90bWFjLWJlbmNoLWtleQ=='; // any 16 bytes in base64: the bench does not check the accept hash
const HEADER_END = Buffer.from('\r\n\r\n');
const MASK = Buffer.alloc(4);

/** One frame's header for a masked text frame of `length` bytes. */
function frameHeader(opcode, length) {
  if (length < 126) return Buffer.from([0x80 | opcode, 0x80 | length]);
  if (length < 65536) return Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 255]);
  const h = Buffer.alloc(10);
  h[0] = 0x80 | opcode;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/** The bytes of one masked (zero key) text frame carrying `payload` (a Buffer), for {@link LeanSocket.write}. */
export const clientTextFrame = (payload) => Buffer.concat([frameHeader(1, payload.length), MASK, payload]);

export class LeanSocket {
  /** Called with each text/binary message (a view into the read buffer: copy what you keep). */
  onMessage = null;
  /** Called once when the connection ends (after it was open). */
  onClose = null;
  /** Called after each ping from the server was answered with a pong. */
  onPing = null;
  closed = false;
  #socket;
  #rest = null;
  #parts = null;

  constructor(socket, rest) {
    this.#socket = socket;
    socket.on('data', (chunk) => this.#read(chunk));
    socket.on('close', () => this.#ended());
    socket.on('error', () => {});
    // Bytes that came with the 101 answer: read once the caller has set onMessage (after the
    // promise's continuation); data read before then is appended behind them.
    if (rest.length > 0) {
      this.#rest = Buffer.from(rest);
      setImmediate(() => this.#read(Buffer.alloc(0)));
    }
  }

  /**
   * Connects to `url` (ws://host:port/path) with subprotocol `protocol` (none when unset) and
   * resolves once the server answered 101; rejects with a reason (`ECONNREFUSED`, `http_503`,
   * `timeout`…). `localAddress` (and `localPort`) bind the socket before it connects.
   */
  static connect(url, { protocol, localAddress, localPort, timeoutMs }) {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: u.hostname,
        port: Number(u.port),
        noDelay: true,
        ...(localAddress ? { localAddress } : {}),
        ...(localPort ? { localPort } : {}),
      });
      let head = Buffer.alloc(0);
      let done = false;
      const fail = (reason) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        reject(reason);
      };
      const timer = setTimeout(() => fail('timeout'), timeoutMs);
      socket.once('error', (e) => fail(e.code ?? 'error'));
      socket.once('close', () => fail('closed'));
      socket.once('connect', () => {
        socket.write(
          `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n` +
            `${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`,
        );
      });
      const onData = (chunk) => {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        const end = head.indexOf(HEADER_END);
        if (end < 0) {
          if (head.length > 16_384) fail('bad_handshake');
          return;
        }
        const status = head.toString('latin1', 0, head.indexOf('\r\n'));
        const code = status.split(' ')[1];
        if (code !== '101') return fail(`http_${code}`);
        done = true;
        clearTimeout(timer);
        socket.removeListener('data', onData);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        resolve(new LeanSocket(socket, head.subarray(end + 4)));
      };
      socket.on('data', onData);
    });
  }

  /** Sends a text message. */
  send(text) {
    if (this.closed) return;
    const payload = Buffer.from(text);
    this.#socket.write(clientTextFrame(payload));
  }

  /** Writes bytes that are already whole client frames (e.g. several from {@link clientTextFrame}). */
  write(frames) {
    if (!this.closed) this.#socket.write(frames);
  }

  /** Drops the connection at once (no close handshake); `onClose` is not called. */
  terminate() {
    this.onClose = null;
    this.closed = true;
    this.#socket.destroy();
  }

  #ended() {
    if (this.closed) return;
    this.closed = true;
    const cb = this.onClose;
    this.onClose = null;
    cb?.();
  }

  #read(chunk) {
    if (this.closed) return;
    let buf = this.#rest === null ? chunk : Buffer.concat([this.#rest, chunk]);
    this.#rest = null;
    let at = 0;
    while (buf.length - at >= 2) {
      const b0 = buf[at];
      let length = buf[at + 1] & 127;
      let start = at + 2;
      if (length === 126) {
        if (buf.length - at < 4) break;
        length = buf.readUInt16BE(at + 2);
        start = at + 4;
      } else if (length === 127) {
        if (buf.length - at < 10) break;
        length = Number(buf.readBigUInt64BE(at + 2));
        start = at + 10;
      }
      if (buf.length < start + length) break;
      const payload = buf.subarray(start, start + length);
      at = start + length;
      this.#frame(b0 & 0x80, b0 & 0x0f, payload);
      if (this.closed) return;
    }
    if (at < buf.length) this.#rest = Buffer.from(buf.subarray(at));
    buf = null;
  }

  #frame(fin, opcode, payload) {
    if (opcode === 8) {
      this.#socket.destroy();
      return;
    }
    if (opcode === 9) {
      this.#socket.write(Buffer.concat([frameHeader(10, payload.length), MASK, payload]));
      this.onPing?.();
      return;
    }
    if (opcode === 10) return;
    if (opcode === 0 || !fin) {
      if (this.#parts === null) this.#parts = [];
      this.#parts.push(Buffer.from(payload));
      if (!fin) return;
      payload = Buffer.concat(this.#parts);
      this.#parts = null;
    }
    this.onMessage?.(payload);
  }
}

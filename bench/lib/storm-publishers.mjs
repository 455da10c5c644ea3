// Publishers of the reconnect storm: a few connections to the surviving node publishing at a
// fixed total rate, round-robin over the channels, and the channels' top offsets from a
// fresh subscribe at the end (what every recovered client must have reached).
import WebSocket from 'ws';
import { sleep } from './net-util.mjs';

/** Publish requests one connection may have unanswered before it waits. */
const MAX_UNACKED = 1000;

/** Opens a connection and resolves once `welcome` came (rejects after `timeoutMs`). */
function openSocket(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['dotmac.v1'], { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no welcome from ${url} in ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    ws.once('message', () => {
      clearTimeout(timer);
      ws.removeAllListeners('error');
      ws.on('error', () => {});
      resolve(ws);
    });
  });
}

/** Asks `url` for each channel's top offset with one `subscribe` each; `{ name: offset }`. */
export async function topOffsets(url, channels, timeoutMs = 10_000) {
  const ws = await openSocket(url, timeoutMs);
  const tops = {};
  try {
    await new Promise((resolve, reject) => {
      let left = channels.length;
      const timer = setTimeout(() => reject(new Error('no answer to every top-offset subscribe')), timeoutMs);
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type !== 'ack' && frame.type !== 'error') return;
        const name = channels[frame.id - 1];
        if (name === undefined) return;
        tops[name] = frame.type === 'ack' ? frame.data.offset : null;
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      channels.forEach((channel, i) => {
        ws.send(JSON.stringify({ type: 'subscribe', id: i + 1, data: { channel } }));
      });
    });
  } finally {
    ws.terminate();
  }
  return tops;
}

/** `count` publishing connections to `url` sending `rate` messages/s in all over `channels`. */
export class StormPublishers {
  sent = 0;
  acked = 0;
  refused = {};
  #sockets = [];
  #unacked = [];
  #running = false;
  #loop = Promise.resolve();

  constructor({ url, count, channels, rate, payloadBytes = 100 }) {
    this.o = { url, count, channels, rate };
    this.payload = 'x'.repeat(payloadBytes);
  }

  async open(timeoutMs = 10_000) {
    for (let k = 0; k < this.o.count; k++) {
      const ws = await openSocket(this.o.url, timeoutMs);
      const slot = this.#sockets.length;
      this.#unacked.push(0);
      ws.on('message', (data) => {
        if (data[9] !== 97 && data[9] !== 101) return; // ack / error
        this.#unacked[slot]--;
        const frame = JSON.parse(data.toString());
        if (frame.type === 'ack') this.acked++;
        else {
          const code = frame.data?.code ?? 'error';
          this.refused[code] = (this.refused[code] ?? 0) + 1;
        }
      });
      ws.on('close', () => {
        if (this.#running) this.refused.publisher_closed = (this.refused.publisher_closed ?? 0) + 1;
      });
      this.#sockets.push(ws);
    }
  }

  start() {
    this.#running = true;
    this.#loop = this.#paced();
  }

  /** Stops publishing and waits up to `timeoutMs` for the answers still owed. */
  async stop(timeoutMs = 5000) {
    this.#running = false;
    await this.#loop;
    const deadline = Date.now() + timeoutMs;
    while (this.#unacked.some((n) => n > 0) && Date.now() < deadline) await sleep(10);
  }

  close() {
    this.#running = false;
    for (const ws of this.#sockets) ws.terminate();
  }

  async #paced() {
    const { rate, channels } = this.o;
    const started = performance.now();
    let id = 0;
    while (this.#running) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (this.sent < due) {
        const k = this.sent % this.#sockets.length;
        const ws = this.#sockets[k];
        if (ws.readyState !== WebSocket.OPEN || this.#unacked[k] >= MAX_UNACKED) break;
        this.#unacked[k]++;
        const channel = channels[this.sent % channels.length];
        ws.send(JSON.stringify({ type: 'publish', id: ++id, channel, data: this.payload }));
        this.sent++;
      }
      await sleep(10);
    }
  }
}

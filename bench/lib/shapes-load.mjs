// The lean load of the `shapes` section: subscribers and publishers on raw sockets
// (lean-socket.mjs), cheap enough that the servers, not this process, set the pace.
//
// - Every message goes to one target: a channel (published over WebSocket by a publisher
//   connection) or a user (published with `POST /api/publish` over keep-alive HTTP). Each target
//   belongs to one publisher, so its messages keep their order.
// - Publish frames and HTTP requests are built once as templates; sending one copies the bytes
//   and writes the message id, the target and its sequence number in place.
// - Every payload ends with `#`, the target (5 digits) and the target's sequence number (10
//   digits), and every server puts the payload last in its delivery (`…"data":"<payload>"}` or
//   Socket.IO's `…,"<payload>"]`): a subscriber reads the two numbers at fixed offsets from the
//   end of the frame, without parsing it, and counts losses, repeats and reorderings with the
//   loadtest's SequenceTracker (in order, a counter moves).
// - Publishers send as fast as the server takes it: each keeps up to `window` messages
//   unanswered (acks, HTTP answers), and all together keep at most `publishers x window`
//   messages not yet delivered to every subscriber (so that a node behind a broker cannot fall
//   unboundedly behind).
import { createHmac } from 'node:crypto';
import net from 'node:net';
import { SequenceTracker } from '@dotmac-ws/loadtest';
import { clientTextFrame, LeanSocket } from './lean-socket.mjs';

const PAYLOAD_BYTES = 100;
/** `#`, the target, the sequence number: the end of every payload. */
const TAIL = 16;
const TARGET_DIGITS = 5;
const SEQ_DIGITS = 10;
const ID_DIGITS = 10;
const ID_BASE = 1_000_000_000;
const HASH = 35;
const CONNECT_CONCURRENCY = 256;

/** A target's name: `c00042` (channel) or `u00042` (user). */
export const targetName = (kind, k) =>
  `${kind === 'user' ? 'u' : 'c'}${String(k).padStart(TARGET_DIGITS, '0')}`;

/** An HS256 JWT for `sub`, valid for an hour. */
export function signToken(secret, sub) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

function writeDigits(buf, at, width, n) {
  for (let i = at + width - 1; i >= at; i--) {
    buf[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
}

/**
 * Bytes with digit fields: `parts` are strings or `{ field, width }`. Resolves to
 * `{ bytes, at: { field: [offsets] } }` (text is ASCII: offsets in bytes).
 */
function template(parts) {
  let text = '';
  const at = {};
  for (const p of parts) {
    if (typeof p === 'string') {
      text += p;
    } else {
      at[p.field] ??= [];
      at[p.field].push(text.length);
      text += '0'.repeat(p.width);
    }
  }
  return { bytes: Buffer.from(text, 'latin1'), at };
}

/** The same template inside a masked client frame (the offsets moved past the frame header). */
function framed(t) {
  const bytes = clientTextFrame(t.bytes);
  const shift = bytes.length - t.bytes.length;
  return {
    bytes,
    at: Object.fromEntries(Object.entries(t.at).map(([k, v]) => [k, v.map((x) => x + shift)])),
  };
}

const ID = { field: 'id', width: ID_DIGITS };
const TARGET = { field: 'target', width: TARGET_DIGITS };
const PAYLOAD = ['x'.repeat(PAYLOAD_BYTES - TAIL), '#', TARGET, { field: 'seq', width: SEQ_DIGITS }];

/** How each server family is spoken to: the gateway's protocol (gateway, floor, naive) and Socket.IO's. */
const DIALECTS = {
  dotmac: {
    protocol: 'dotmac.v1',
    url: (base, query) => (query ? `${base}?${query}` : base),
    publish: () =>
      framed(
        template(['{"type":"publish","id":', ID, ',"channel":"c', TARGET, '","data":"', ...PAYLOAD, '"}']),
      ),
    /** `ready`: welcome; `ack`/`refused`: the answer to a request; `other`. */
    kind(d) {
      if (d[9] === 97) return 'ack';
      if (d[9] === 101) return 'refused';
      if (d[9] === 119) return 'ready';
      return 'other';
    },
    subscribe: (channel) => `{"type":"subscribe","id":1,"data":{"channel":"${channel}"}}`,
  },
  'socket.io': {
    protocol: null,
    url: (base, query) => `${base}?EIO=4&transport=websocket${query ? `&${query}` : ''}`,
    publish: () =>
      framed(template(['42', ID, '["publish",{"channel":"c', TARGET, '","data":"', ...PAYLOAD, '"}]'])),
    // Engine.IO `0{…}` opens (answered with Socket.IO's connect `40`), `40{…}` is connected,
    // `43<id>[…]` acks, `2` pings (answered `3`), `44` refuses the connection.
    kind(d) {
      if (d[0] === 52 && d[1] === 51) return 'ack';
      if (d.length === 1 && d[0] === 50) return 'ping';
      if (d[0] === 48 && d[1] === 123) return 'open';
      if (d[0] === 52 && d[1] === 48) return 'ready';
      if (d[0] === 52 && d[1] === 52) return 'refused';
      return 'other';
    },
    subscribe: (channel) => `421["subscribe","${channel}"]`,
  },
};

/**
 * Opens a WebSocket and resolves once it is ready: welcomed (Socket.IO: connected) and, with
 * `channel`, subscribed.
 */
async function openReady(url, dialect, channel, timeoutMs) {
  const ws = await LeanSocket.connect(url, { protocol: dialect.protocol, timeoutMs });
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail('not ready in time'), timeoutMs);
    ws.onClose = () => fail('closed before it was ready');
    let subscribing = false;
    ws.onMessage = (d) => {
      const kind = dialect.kind(d);
      if (kind === 'ping') ws.send('3');
      else if (kind === 'open') ws.send('40');
      else if (kind === 'refused') fail(`refused: ${d.toString().slice(0, 200)}`);
      else if (kind === 'ready' && channel !== null && !subscribing) {
        subscribing = true;
        ws.send(dialect.subscribe(channel));
      } else if (kind === (channel === null ? 'ready' : 'ack')) {
        clearTimeout(timer);
        ws.onClose = null;
        ws.onMessage = null;
        resolve(ws);
      }
    };
  });
}

/**
 * A keep-alive HTTP/1.1 connection with pipelined requests: counts the answers (status line and
 * Content-Length read, the body skipped).
 */
class HttpPipe {
  /** Called once when the server closes the connection (not after terminate()). */
  onClose = null;
  #socket;
  #rest = null;
  constructor(socket, onAnswer) {
    this.#socket = socket;
    this.onAnswer = onAnswer;
    socket.on('data', (chunk) => this.#read(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.onClose?.());
  }

  static open(port, onAnswer, timeoutMs) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('HTTP connect timeout'));
      }, timeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new HttpPipe(socket, onAnswer));
      });
    });
  }

  write(bytes) {
    this.#socket.write(bytes);
  }

  terminate() {
    this.onClose = null;
    this.#socket.destroy();
  }

  #read(chunk) {
    const buf = this.#rest === null ? chunk : Buffer.concat([this.#rest, chunk]);
    this.#rest = null;
    let at = 0;
    for (;;) {
      const end = buf.indexOf('\r\n\r\n', at, 'latin1');
      if (end < 0) break;
      const head = buf.toString('latin1', at, end);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) break;
      this.onAnswer(Number(head.slice(9, 12)));
      at = end + 4 + length;
    }
    if (at < buf.length) this.#rest = Buffer.from(buf.subarray(at));
  }
}

/**
 * One load of one shape. `o`: `{ dialect ('dotmac' | 'socket.io'), subscribeUrl (ws://…, where
 * the subscribers connect), publishUrl (ws://… of the publishers; with `target: 'user'` the
 * HTTP API is on its port), target ('channel' | 'user'), targets, subscribersPerTarget,
 * publishers, window, userAuth ('jwt' | 'query'), jwtSecret, apiKey, timeoutMs }`.
 */
export class ShapeLoad {
  sent = 0;
  /** Deliveries, each (subscriber, message) counted once: repeats are counted apart. */
  delivered = 0;
  answered = 0;
  refused = {};
  refusedCount = 0;
  misrouted = 0;
  /** Subscribers the server closed. */
  closed = 0;
  /** Publishing connections (WebSocket or HTTP) the server closed. */
  publishersClosed = 0;
  #subs = [];
  /** Every subscriber's deliveries, repeats and reorderings (SequenceTracker's counters). */
  #counts = { received: 0, duplicates: 0, outOfOrder: 0 };
  #pubs = [];
  #seq;
  #tpl;
  #running = false;
  #scheduled = false;
  #starved = false;
  #rr = 0;
  #onDone = null;

  constructor(o) {
    this.o = o;
    this.dialect = DIALECTS[o.dialect];
    this.#seq = new Uint32Array(o.targets);
    this.publishers = Math.min(o.publishers, o.targets);
    this.maxInFlight = this.publishers * o.window;
    this.#tpl = o.target === 'user' ? this.#httpTemplate() : this.dialect.publish();
  }

  /** Subscribers, then publishers; `{ failures: { reason: count } }` of the subscribers that could not connect. */
  async connect() {
    const o = this.o;
    const total = o.targets * o.subscribersPerTarget;
    const failures = {};
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CONNECT_CONCURRENCY, total) }, async () => {
        while (next < total) {
          const i = next++;
          try {
            this.#subs.push(await this.#subscriber(i % o.targets));
          } catch (error) {
            const why = String(error?.message ?? error);
            failures[why] = (failures[why] ?? 0) + 1;
          }
        }
      }),
    );
    for (let p = 0; p < this.publishers; p++) {
      const targets = [];
      for (let k = p; k < o.targets; k += this.publishers) targets.push(k);
      const pub = { targets, cursor: 0, unacked: 0, id: 0, conn: null };
      pub.conn = o.target === 'user' ? await this.#httpPublisher(pub) : await this.#wsPublisher(pub);
      this.#pubs.push(pub);
    }
    return { subscribers: this.#subs.length, failures };
  }

  /**
   * Publishes for `durationMs`, then waits until every message is answered and delivered (at
   * most `drainMs`). `atStart()` runs just before the first message and `atEnd()` once the last
   * one is in (or the drain gave up). Resolves with the counts of this phase.
   */
  async phase({ durationMs, drainMs, atStart = () => {}, atEnd = () => {} }) {
    const sent0 = this.sent;
    const delivered0 = this.delivered;
    const done = new Promise((resolve) => {
      this.#onDone = resolve;
    });
    atStart();
    const t0 = performance.now();
    this.#running = true;
    this.#pump();
    const stopTimer = setTimeout(() => {
      this.#running = false;
      this.#checkDone();
    }, durationMs);
    const drainTimer = setTimeout(() => this.#finish(), durationMs + drainMs);
    await done;
    clearTimeout(stopTimer);
    clearTimeout(drainTimer);
    const t1 = performance.now();
    atEnd();
    return {
      wallMs: t1 - t0,
      published: this.sent - sent0,
      deliveries: this.delivered - delivered0,
      drained: this.#drained(),
    };
  }

  /** Losses, repeats and reorderings over everything published so far, per subscriber. */
  tally() {
    let lost = 0;
    // Per target, the most any of its subscribers missed: messages not delivered to everyone.
    const missing = new Map();
    for (const s of this.#subs) {
      // Sequence numbers run from 1 to the target's last.
      const miss = s.tracker.lost(this.#seq[s.target] + 1);
      lost += miss;
      if (miss > (missing.get(s.target) ?? 0)) missing.set(s.target, miss);
    }
    let incomplete = 0;
    for (const m of missing.values()) incomplete += m;
    return {
      lost,
      duplicates: this.#counts.duplicates,
      outOfOrder: this.#counts.outOfOrder,
      incomplete,
      misrouted: this.misrouted,
      closed: this.closed,
      publishersClosed: this.publishersClosed,
    };
  }

  close() {
    this.#running = false;
    for (const s of this.#subs) s.ws.terminate();
    for (const p of this.#pubs) p.conn?.terminate();
  }

  #httpTemplate() {
    const body = ['{"user_id":"u', TARGET, '","type":"note","data":"', ...PAYLOAD, '"}'];
    return template([
      'POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${this.o.apiKey}\r\nContent-Length: ${template(body).bytes.length}\r\n\r\n`,
      ...body,
    ]);
  }

  async #subscriber(target) {
    const o = this.o;
    const name = targetName(o.target, target);
    let query = null;
    if (o.target === 'user') {
      query = o.userAuth === 'jwt' ? `token=${signToken(o.jwtSecret, name)}` : `user=${name}`;
    }
    const ws = await openReady(
      this.dialect.url(o.subscribeUrl, query),
      this.dialect,
      o.target === 'user' ? null : name,
      o.timeoutMs,
    );
    const s = { ws, target, tracker: new SequenceTracker(1) };
    const dialect = this.dialect;
    const counts = this.#counts;
    ws.onClose = () => {
      this.closed++;
    };
    ws.onMessage = (d) => {
      const n = d.length;
      if (n < TAIL + 2 || d[n - TAIL - 2] !== HASH) {
        if (dialect.kind(d) === 'ping') ws.send('3');
        return;
      }
      let t = 0;
      for (let i = n - TAIL - 1; i < n - SEQ_DIGITS - 2; i++) t = t * 10 + d[i] - 48;
      let seq = 0;
      for (let i = n - SEQ_DIGITS - 2; i < n - 2; i++) seq = seq * 10 + d[i] - 48;
      if (t !== target) {
        this.misrouted++;
        return;
      }
      const repeats = counts.duplicates;
      s.tracker.record(seq, counts);
      if (counts.duplicates !== repeats) return;
      this.delivered++;
      if (this.#running) {
        if (this.#starved && this.#inFlight() <= this.maxInFlight / 2) this.#schedule();
      } else {
        this.#checkDone();
      }
    };
    return s;
  }

  async #wsPublisher(pub) {
    const ws = await openReady(
      this.dialect.url(this.o.publishUrl, null),
      this.dialect,
      null,
      this.o.timeoutMs,
    );
    const dialect = this.dialect;
    ws.onMessage = (d) => {
      const kind = dialect.kind(d);
      if (kind === 'ack') this.#answered(pub, null);
      else if (kind === 'refused') this.#answered(pub, d.toString().slice(0, 120));
      else if (kind === 'ping') ws.send('3');
    };
    ws.onClose = () => {
      this.publishersClosed++;
    };
    return ws;
  }

  async #httpPublisher(pub) {
    const port = Number(new URL(this.o.publishUrl).port);
    const pipe = await HttpPipe.open(
      port,
      (status) => this.#answered(pub, status === 200 ? null : `http_${status}`),
      this.o.timeoutMs,
    );
    pipe.onClose = () => {
      this.publishersClosed++;
    };
    return pipe;
  }

  #answered(pub, refusal) {
    pub.unacked--;
    this.answered++;
    if (refusal !== null) {
      this.refused[refusal] = (this.refused[refusal] ?? 0) + 1;
      this.refusedCount++;
    }
    if (this.#running) this.#schedule();
    else this.#checkDone();
  }

  /** Messages published (and not refused) not yet delivered to every subscriber (counted in deliveries). */
  #inFlight() {
    const spt = this.o.subscribersPerTarget;
    return ((this.sent - this.refusedCount) * spt - this.delivered) / spt;
  }

  #schedule() {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#pump);
  }

  #pump = () => {
    this.#scheduled = false;
    if (!this.#running) return;
    let budget = Math.floor(this.maxInFlight - this.#inFlight());
    const pubs = this.#pubs;
    for (let k = 0; k < pubs.length && budget > 0; k++) {
      const pub = pubs[(this.#rr + k) % pubs.length];
      const room = Math.min(this.o.window - pub.unacked, budget);
      if (room <= 0) continue;
      pub.conn.write(this.#batch(pub, room));
      pub.unacked += room;
      budget -= room;
    }
    this.#rr = (this.#rr + 1) % pubs.length;
    this.#starved = budget <= 0;
  };

  /** `count` messages of `pub`, round-robin over its targets, in one buffer. */
  #batch(pub, count) {
    const { bytes, at } = this.#tpl;
    const size = bytes.length;
    const out = Buffer.allocUnsafe(size * count);
    for (let i = 0; i < count; i++) {
      const base = i * size;
      bytes.copy(out, base);
      const target = pub.targets[pub.cursor];
      pub.cursor = (pub.cursor + 1) % pub.targets.length;
      if (at.id) writeDigits(out, base + at.id[0], ID_DIGITS, ID_BASE + ++pub.id);
      for (const x of at.target) writeDigits(out, base + x, TARGET_DIGITS, target);
      writeDigits(out, base + at.seq[0], SEQ_DIGITS, ++this.#seq[target]);
    }
    this.sent += count;
    return out;
  }

  #drained() {
    return this.#pubs.every((p) => p.unacked === 0) && this.#inFlight() <= 0;
  }

  #checkDone() {
    if (!this.#running && this.#drained()) this.#finish();
  }

  #finish() {
    this.#running = false;
    const done = this.#onDone;
    this.#onDone = null;
    done?.();
  }
}

// A minimal client of a channel with history, for the reconnect storm: it keeps its position
// ({offset, epoch}), and when its connection drops it reconnects (the client SDK's backoff:
// exponential with full jitter, bounded in attempts and time) to the next URL of its list and
// subscribes again with `since`. It counts, by offset, what it lost (gaps) and what it got twice.
import { backoffDelay } from '@dotmac-ws/client';
import { LeanSocket } from './lean-socket.mjs';

const SUBSCRIBE_ID = 1;
const OFFSET_KEY = Buffer.from('"offset":');
/** Live deliveries held while a subscribe is unanswered; more are counted and dropped. */
const MAX_HELD = 10_000;

/** The offset of a delivery frame, found without parsing the data; -1 when it has none. */
function offsetOf(frame) {
  const at = frame.indexOf(OFFSET_KEY);
  if (at < 0) return -1;
  let n = 0;
  let i = at + OFFSET_KEY.length;
  for (; i < frame.length && frame[i] >= 48 && frame[i] <= 57; i++) n = n * 10 + frame[i] - 48;
  return i === at + OFFSET_KEY.length ? -1 : n;
}

/** True for the frames that are not deliveries: welcome, ack, error (all begin `{"type":"`). */
function isControl(frame) {
  // {"type":"ack" / "error" / "welcome" / "pong"
  const c = frame[9];
  return c === 97 /* a */ || c === 101 /* e */ || c === 119 /* w */ || c === 112 /* p */;
}

/** Shared counters of a storm. */
export function newTally() {
  return { attempts: 0, attemptFailures: {}, recoveredPublications: 0, early: 0, heldDropped: 0, errors: {} };
}

export class RecoveringClient {
  /** Last offset taken, and the channel's epoch. */
  last = -1;
  epoch = null;
  received = 0;
  duplicates = 0;
  /** Offsets skipped over (a delivery above last + 1). */
  gaps = 0;
  outages = 0;
  /** Per outage: when the connection dropped and when the recovering subscribe was answered (ms, performance.now()). */
  lostAt = null;
  recoveredAt = null;
  /** True when the last outage ended in `recovered: false` (the position was gone). */
  resynced = false;
  gaveUp = false;
  #ws = null;
  #urlIndex = 0;
  #stopped = false;

  /**
   * @param o `{ index, channel, urls, localAddress, timeoutMs, minDelayMs, maxDelayMs,
   *   giveUpMs, maxAttempts, tally }`: attempt k waits `backoffDelay(k, {minDelayMs,
   *   maxDelayMs})` of @dotmac-ws/client (the first between min and 2 x min); the client gives
   *   up after `maxAttempts` or `giveUpMs`.
   */
  constructor(o) {
    this.o = o;
  }

  /** True while an outage is not over. */
  get down() {
    return this.lostAt !== null && this.recoveredAt === null && !this.gaveUp;
  }

  /** First connection to `urls[urlIndex]`: subscribes and takes the position. Resolves null or a failure reason. */
  async start(urlIndex) {
    this.#urlIndex = urlIndex;
    try {
      const opened = await this.#open(urlIndex, null);
      const { ws, ack } = opened;
      if (typeof ack.offset !== 'number' || typeof ack.epoch !== 'string' || this.#stopped) {
        ws.terminate();
        return this.#stopped ? 'stopped' : 'no_history';
      }
      this.last = ack.offset;
      this.epoch = ack.epoch;
      this.#adopt(opened);
      return null;
    } catch (reason) {
      return String(reason);
    }
  }

  /** Closes the connection; no reconnection follows. */
  stop() {
    this.#stopped = true;
    this.#ws?.terminate();
    this.#ws = null;
  }

  #take(offset) {
    this.received++;
    if (offset <= this.last) {
      this.duplicates++;
      return;
    }
    if (offset > this.last + 1) this.gaps += offset - this.last - 1;
    this.last = offset;
  }

  /** Takes the deliveries held since the ack, then every later one as it comes. */
  #adopt(opened) {
    for (const offset of opened.held.splice(0)) this.#take(offset);
    opened.adopted = true;
    const ws = opened.ws;
    this.#ws = ws;
    const closed = () => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      if (!this.#stopped) this.#lost();
    };
    // Closed between the ack and now: its close event has fired already.
    if (ws.closed) closed();
    else ws.onClose = closed;
  }

  #lost() {
    this.outages++;
    this.lostAt = performance.now();
    this.recoveredAt = null;
    this.resynced = false;
    this.gaveUp = false;
    this.#recover().catch((error) => {
      this.o.tally.errors[error.message] = (this.o.tally.errors[error.message] ?? 0) + 1;
      this.gaveUp = true;
    });
  }

  async #recover() {
    const o = this.o;
    const policy = { minDelayMs: o.minDelayMs, maxDelayMs: o.maxDelayMs };
    for (let attempt = 0; attempt < o.maxAttempts && !this.#stopped; attempt++) {
      const wait = backoffDelay(attempt, policy);
      if (performance.now() + wait - this.lostAt > o.giveUpMs) break;
      await new Promise((r) => setTimeout(r, wait));
      if (this.#stopped) return;
      this.#urlIndex = (this.#urlIndex + 1) % o.urls.length;
      o.tally.attempts++;
      try {
        const opened = await this.#open(this.#urlIndex, { offset: this.last, epoch: this.epoch });
        const { ws, ack } = opened;
        if (this.#stopped) {
          ws.terminate();
          return;
        }
        if (ack.recovered === true) {
          for (const p of ack.publications ?? []) {
            o.tally.recoveredPublications++;
            this.#take(p.offset);
          }
        } else {
          this.resynced = true;
          this.last = ack.offset;
          this.epoch = ack.epoch;
        }
        this.recoveredAt = performance.now();
        this.#adopt(opened);
        return;
      } catch (reason) {
        o.tally.attemptFailures[reason] = (o.tally.attemptFailures[reason] ?? 0) + 1;
      }
    }
    if (this.#stopped) return;
    this.gaveUp = true;
  }

  /**
   * Opens a connection, subscribes (with `since` when given) and resolves with
   * `{ ws, ack, held, adopted }`: the socket, the ack's data, and the offsets of deliveries not
   * yet taken (before the ack, and after it until the caller sets `adopted`); rejects with a
   * reason.
   */
  async #open(urlIndex, since) {
    const o = this.o;
    const deadline = performance.now() + o.timeoutMs;
    const ws = await LeanSocket.connect(o.urls[urlIndex], {
      protocol: 'dotmac.v1',
      localAddress: o.localAddress,
      timeoutMs: o.timeoutMs,
    });
    return new Promise((resolve, reject) => {
      const opened = { ws, ack: null, held: [], adopted: false };
      let answered = false;
      const fail = (reason) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        ws.terminate();
        reject(reason);
      };
      const timer = setTimeout(() => fail('timeout'), Math.max(0, deadline - performance.now()));
      ws.onClose = () => fail('closed');
      ws.onMessage = (data) => {
        if (!isControl(data)) {
          const offset = offsetOf(data);
          if (offset < 0) return;
          if (opened.adopted) {
            if (this.#ws === ws) this.#take(offset);
          } else if (opened.held.length < MAX_HELD) {
            if (!answered) o.tally.early++;
            opened.held.push(offset);
          } else {
            o.tally.heldDropped++;
          }
          return;
        }
        if (answered) return;
        let frame;
        try {
          frame = JSON.parse(data.toString());
        } catch {
          return;
        }
        if (frame.type === 'welcome') {
          const sub = { channel: o.channel };
          if (since) sub.since = since;
          ws.send(JSON.stringify({ type: 'subscribe', id: SUBSCRIBE_ID, data: sub }));
        } else if (frame.id === SUBSCRIBE_ID && frame.type === 'error') {
          fail(`subscribe_${frame.data?.code ?? 'error'}`);
        } else if (frame.id === SUBSCRIBE_ID && frame.type === 'ack') {
          answered = true;
          clearTimeout(timer);
          ws.onClose = null;
          opened.ack = frame.data ?? {};
          resolve(opened);
        }
      };
    });
  }
}

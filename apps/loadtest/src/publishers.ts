import { nowUs } from './clock';
import { ConnectFailure, LoadConnection } from './connection';
import { dialectFor } from './dialect';
import type { ResolvedLoadOptions } from './options';
import { delay } from './paced';
import { encodePayload } from './payload';
import { channelName } from './shard';
import { sourceEndpoint } from './source-address';
import { tokenFor } from './token';

/** Publish requests one publisher may have unanswered before it waits. */
const MAX_UNACKED = 512;

/**
 * The publishing connections of a fan-out run. Each publisher k sends its j-th message to
 * channel (k + j) mod channels, numbering each (publisher, channel) stream from 0. At a fixed
 * rate it sends on a 5 ms clock; at rate 0 it sends while the deliveries the subscribers
 * still owe stay under `window` per subscriber, read from the shards' shared counters.
 */
export class Publishers {
  /** Messages sent per publisher and channel (the next sequence number). */
  readonly sent: number[][];
  /** Of those, refused by the server (never delivered). */
  readonly refused: number[][];
  /** Error codes of refused publishes and failed connections. */
  readonly errors: Record<string, number> = {};
  readonly #o: ResolvedLoadOptions;
  readonly #conns: (LoadConnection | null)[] = [];
  readonly #shared: Float64Array;
  #byChannel: number[] = [];
  #totalSubscribers = 0;
  #expected = 0;
  #unacked = 0;
  #running = false;
  #loop: Promise<void> = Promise.resolve();

  constructor(o: ResolvedLoadOptions, counters: SharedArrayBuffer) {
    this.#o = o;
    this.#shared = new Float64Array(counters);
    this.sent = Array.from({ length: o.publishers }, () => new Array<number>(o.channels).fill(0));
    this.refused = Array.from({ length: o.publishers }, () => new Array<number>(o.channels).fill(0));
  }

  /** Opens the publishers (connection numbers after the subscribers'); returns how many are ready. */
  async open(firstIndex: number): Promise<number> {
    const o = this.#o;
    const dialect = dialectFor(o.dialect);
    const opened = await Promise.all(
      this.sent.map(async (_, k) => {
        const index = firstIndex + k;
        try {
          return await LoadConnection.open({
            url: o.publishUrls[k % o.publishUrls.length]!,
            dialect,
            ...sourceEndpoint(index, o.sourceAddresses),
            token: tokenFor(o, index),
            tokenVia: o.tokenVia,
            timeoutMs: o.connectTimeoutMs,
          });
        } catch (error) {
          this.#count(`publisher_${error instanceof ConnectFailure ? error.reason : 'error'}`);
          return null;
        }
      }),
    );
    this.#conns.push(...opened);
    for (const c of opened) {
      if (c !== null) c.onErrorFrame = (code) => this.#count(code);
    }
    return opened.filter((c) => c !== null).length;
  }

  /** Deliveries the steady subscribers are owed for what was sent so far. */
  get expectedDeliveries(): number {
    return this.#expected;
  }

  /** Deliveries the steady subscribers received (all shards). */
  received(): number {
    let n = 0;
    for (const v of this.#shared) n += v;
    return n;
  }

  /** Messages sent in all. */
  get totalSent(): number {
    return this.sent.reduce((a, row) => a + row.reduce((b, v) => b + v, 0), 0);
  }

  /** Starts publishing; `subscribersByChannel` tells how many deliveries each message makes. */
  start(subscribersByChannel: number[]): void {
    this.#byChannel = subscribersByChannel;
    this.#totalSubscribers = subscribersByChannel.reduce((a, b) => a + b, 0);
    this.#running = true;
    this.#loop = this.#o.rate > 0 ? this.#paced() : this.#flowControlled();
  }

  /** Stops publishing and waits up to `timeoutMs` for the answers still owed. */
  async stop(timeoutMs: number): Promise<void> {
    this.#running = false;
    await this.#loop;
    const deadline = Date.now() + timeoutMs;
    while (this.#unacked > 0 && Date.now() < deadline) await delay(5);
  }

  /** Closes the publishers. */
  close(): void {
    for (const c of this.#conns) c?.close();
  }

  /** Sends the next message of publisher `k`; false when it cannot send now. */
  #send(k: number): boolean {
    const conn = this.#conns[k];
    if (conn == null || !conn.open || conn.pending >= MAX_UNACKED) return false;
    const o = this.#o;
    const row = this.sent[k]!;
    const j = this.#totalOf(row);
    const channel = (k + j) % o.channels;
    const seq = row[channel]!++;
    this.#expected += this.#byChannel[channel] ?? 0;
    this.#unacked++;
    conn.publish(channelName(channel), encodePayload(k, channel, seq, nowUs(), o.payloadBytes), (code) => {
      this.#unacked--;
      if (code === null) return;
      this.refused[k]![channel]!++;
      this.#expected -= this.#byChannel[channel] ?? 0;
      this.#count(`publish_${code}`);
    });
    return true;
  }

  #count(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  #totalOf(row: number[]): number {
    let n = 0;
    for (const v of row) n += v;
    return n;
  }

  async #paced(): Promise<void> {
    const perPublisher = this.#o.rate / this.#o.publishers;
    const started = Date.now();
    while (this.#running) {
      const due = Math.floor(((Date.now() - started) / 1000) * perPublisher);
      for (let k = 0; k < this.sent.length; k++) {
        let behind = due - this.#totalOf(this.sent[k]!);
        while (behind-- > 0 && this.#send(k)) {}
      }
      await delay(5);
    }
  }

  async #flowControlled(): Promise<void> {
    const limit = this.#o.window * Math.max(1, this.#totalSubscribers);
    let k = 0;
    while (this.#running) {
      let sentNow = 0;
      // At most a few hundred per turn, so that this thread's own subscribers get read.
      while (sentNow < 256 && this.#expected - this.received() < limit) {
        if (!this.#send(k)) break;
        k = (k + 1) % this.sent.length;
        sentNow++;
      }
      await (sentNow > 0 ? new Promise<void>((r) => setImmediate(r)) : delay(1));
    }
  }
}

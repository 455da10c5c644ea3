import { setMaxListeners } from 'node:events';
import { nowUs } from './clock';
import { ConnectFailure, LoadConnection } from './connection';
import { type Dialect, dialectFor } from './dialect';
import { encodeHistogram, type Histogram, newHistogram, recordUs } from './histogram';
import type { ResolvedLoadOptions } from './options';
import { delay, forEachPaced } from './paced';
import type { DecodedPayload } from './payload';
import { RecoveringSubscriber, type RecoveryHost } from './recovering-subscriber';
import { RecoveryTally, type ShardRecovery } from './recovery-tally';
import { type DeliveryCounts, SequenceTracker } from './sequence-tracker';
import { sourceEndpoint } from './source-address';
import { tokenFor } from './token';

/** What a shard is given: the run's options, its place among the shards, the shared counters. */
export interface ShardInit {
  options: ResolvedLoadOptions;
  index: number;
  count: number;
  /** One slot per shard: deliveries its steady subscribers received (read by the publishers). */
  counters: SharedArrayBuffer;
}

/** Commands the coordinator sends a shard; each gets one reply. */
export type ShardCommand =
  | { op: 'setup' }
  | { op: 'start' }
  | { op: 'tick' }
  | { op: 'disrupt'; drop: number }
  | { op: 'stop' }
  | { op: 'finish'; sent: number[][]; refused: number[][]; disruptAtUs: number | null };

/** The reply to `setup`. */
export interface SetupReply {
  op: 'setup';
  /** Ready connections (subscribed, for subscribers). */
  ready: number;
  /** Steady subscribers per channel index. */
  subscribersByChannel: number[];
  /** `recovery`: subscribers whose channel turned out to have no history (the ack had no position). */
  noHistory: number;
}

/** The reply to `disrupt`. */
export interface DisruptReply {
  op: 'disrupt';
  /** Subscriber sockets dropped. */
  dropped: number;
}

/** The reply to `tick`: what happened since the last tick. */
export interface TickReply {
  op: 'tick';
  /** Deliveries (echo: replies; connect: connections) since the last tick. */
  count: number;
  /** Their latencies (connect: time to ready), encoded. */
  histogram: string;
  /** Open connections now. */
  open: number;
  /** Errors so far. */
  errors: number;
}

/** What a shard measured; the coordinator adds the shards' results up. */
export interface ShardResult {
  op: 'finish';
  connectOk: number;
  connectFailures: Record<string, number>;
  connectHistogram: string;
  latencyHistogram: string;
  received: number;
  duplicates: number;
  outOfOrder: number;
  lost: number;
  /** Echo requests sent and answered. */
  requests: number;
  replies: number;
  churnCycles: number;
  peakOpen: number;
  errors: Record<string, number>;
  closes: Record<string, number>;
  /** Deliveries per URL index. */
  byUrl: number[];
  /** `recovery`: what the recovering subscribers went through. */
  recovery: ShardRecovery | null;
}

type ShardReply = SetupReply | TickReply | DisruptReply | ShardResult | { op: 'start' | 'stop' };

interface Subscriber {
  conn: LoadConnection;
  channel: number;
  trackers: SequenceTracker[];
}

/**
 * The connections of one thread: steady subscribers, echo clients, churners or a connection
 * storm, with their counters and histograms. The coordinator drives it with
 * {@link ShardCommand}s, in this thread or in a worker thread.
 */
export class Shard {
  readonly #o: ResolvedLoadOptions;
  readonly #index: number;
  readonly #count: number;
  readonly #shared: Float64Array;
  readonly #dialect: Dialect;
  readonly #channels: string[];
  readonly #subscribers: Subscriber[] = [];
  readonly #recovering: RecoveringSubscriber[] = [];
  readonly #recoveryTally = new RecoveryTally();
  readonly #stopped = new AbortController();
  readonly #conns = new Set<LoadConnection>();
  readonly #counts: DeliveryCounts = { received: 0, duplicates: 0, outOfOrder: 0 };
  readonly #errors: Record<string, number> = {};
  readonly #closes: Record<string, number> = {};
  readonly #failures: Record<string, number> = {};
  readonly #byUrl: number[];
  readonly #connectHist = newHistogram();
  readonly #latency = newHistogram();
  #interval: Histogram = newHistogram();
  #intervalCount = 0;
  #connectOk = 0;
  #lost = 0;
  #requests = 0;
  #replies = 0;
  #churnCycles = 0;
  #peakOpen = 0;
  #running = false;
  #tokens: (string | null)[] = [];
  #activity: Promise<unknown> = Promise.resolve();

  constructor(init: ShardInit) {
    this.#o = init.options;
    this.#index = init.index;
    this.#count = init.count;
    this.#shared = new Float64Array(init.counters);
    this.#dialect = dialectFor(this.#o.dialect);
    this.#channels = Array.from({ length: this.#o.channels }, (_, c) => channelName(c));
    this.#byUrl = this.#o.urls.map(() => 0);
    // Every recovering subscriber may wait on this signal at once.
    setMaxListeners(0, this.#stopped.signal);
  }

  /** Performs `cmd` and resolves with its reply. */
  async handle(cmd: ShardCommand): Promise<ShardReply> {
    switch (cmd.op) {
      case 'setup':
        return this.#setup();
      case 'start':
        await this.#start();
        return { op: 'start' };
      case 'tick':
        return this.#tick();
      case 'disrupt':
        return { op: 'disrupt', dropped: this.#drop(cmd.drop) };
      case 'stop':
        this.#running = false;
        this.#stopped.abort();
        await this.#activity;
        await Promise.all(this.#recovering.map((r) => r.settled));
        return { op: 'stop' };
      case 'finish':
        return this.#finish(cmd.sent, cmd.refused, cmd.disruptAtUs);
    }
  }

  /** This shard's connection numbers, out of `total`. */
  #mine(total: number): number[] {
    const out: number[] = [];
    for (let i = this.#index; i < total; i += this.#count) out.push(i);
    return out;
  }

  #share(value: number): number {
    return value / this.#count;
  }

  async #setup(): Promise<SetupReply> {
    const o = this.#o;
    const byChannel = new Array<number>(o.channels).fill(0);
    const indices = this.#mine(o.connections);
    const needToken = o.token !== null || o.jwtSecret !== null;
    let noHistory = 0;
    if (o.scenario === 'connect') {
      // Signing is not what a storm measures: sign every token before it starts.
      if (needToken) for (const i of indices) this.#tokens[i] = tokenFor(o, i);
      return { op: 'setup', ready: 0, subscribersByChannel: byChannel, noHistory };
    }
    const host = o.scenario === 'recovery' ? this.#recoveryHost() : null;
    const concurrency = Math.max(1, Math.ceil(this.#share(o.connectConcurrency)));
    await forEachPaced(
      indices,
      concurrency,
      this.#share(o.connectRate),
      () => false,
      async (i) => {
        const conn = await this.#connect(i, i % o.urls.length, needToken ? tokenFor(o, i) : null);
        if (conn === null) return;
        if (o.scenario === 'echo') {
          this.#watch(conn);
          return;
        }
        const channel = i % o.channels;
        const trackers = Array.from({ length: o.publishers }, () => new SequenceTracker(0));
        const recovering =
          host === null
            ? null
            : new RecoveringSubscriber(
                host,
                i,
                channel,
                this.#channels[channel]!,
                i % o.urls.length,
                trackers,
              );
        const code =
          recovering === null
            ? await new Promise<string | null>((resolve) => conn.subscribe(this.#channels[channel]!, resolve))
            : await recovering.begin(conn);
        if (code === 'no_history') noHistory++;
        if (code !== null) {
          this.#count1(this.#failures, `subscribe_${code}`);
          this.#connectOk--;
          conn.close();
          this.#conns.delete(conn);
          return;
        }
        byChannel[channel]!++;
        if (recovering !== null) {
          this.#recovering.push(recovering);
          return;
        }
        this.#watch(conn);
        const sub: Subscriber = { conn, channel, trackers };
        this.#subscribers.push(sub);
        conn.onPayload = this.#steadyReceiver(sub, i % o.urls.length);
      },
    );
    return { op: 'setup', ready: this.#conns.size, subscribersByChannel: byChannel, noHistory };
  }

  /** What this shard lends its recovering subscribers. */
  #recoveryHost(): RecoveryHost {
    const o = this.#o;
    const tally = this.#recoveryTally;
    const shared = this.#shared;
    const slot = this.#index;
    const needToken = o.token !== null || o.jwtSecret !== null;
    return {
      reconnectDelayMs: o.reconnectDelayMs,
      reconnectMaxDelayMs: o.reconnectMaxDelayMs,
      recoveryTimeoutMs: o.recoveryTimeoutMs,
      replyTimeoutMs: o.connectTimeoutMs,
      urlCount: o.urls.length,
      counts: this.#counts,
      stopped: this.#stopped.signal,
      reconnect: async (index, urlIndex) => {
        const conn = await LoadConnection.open({
          url: o.urls[urlIndex]!,
          dialect: this.#dialect,
          ...sourceEndpoint(index, o.sourceAddresses),
          token: needToken ? tokenFor(o, index) : null,
          tokenVia: o.tokenVia,
          timeoutMs: o.connectTimeoutMs,
          positioned: true,
        });
        if (this.#stopped.signal.aborted) {
          conn.close();
          throw new ConnectFailure('stopped');
        }
        this.#conns.add(conn);
        if (this.#conns.size > this.#peakOpen) this.#peakOpen = this.#conns.size;
        return conn;
      },
      forget: (conn) => this.#conns.delete(conn),
      delivered: (sentUs, urlIndex) => {
        recordUs(this.#interval, nowUs() - sentUs);
        this.#intervalCount++;
        shared[slot]! += 1;
        this.#byUrl[urlIndex]!++;
      },
      error: (code) => this.#count1(this.#errors, code),
      attemptFailed: (reason) => tally.attemptFailed(reason),
      droppedByOffset: () => {
        tally.droppedByOffset++;
      },
      recoveredPublication: () => {
        tally.recoveredPublications++;
      },
    };
  }

  /** Drops `fraction` of the recovering subscribers' sockets, spread evenly over them. */
  #drop(fraction: number): number {
    let dropped = 0;
    this.#recovering.forEach((sub, k) => {
      if (Math.floor((k + 1) * fraction) > Math.floor(k * fraction)) {
        sub.drop();
        dropped++;
      }
    });
    this.#recoveryTally.dropped += dropped;
    return dropped;
  }

  /** Opens connection `i`; counts a failure and returns null when it does not become ready. */
  async #connect(i: number, urlIndex: number, token: string | null): Promise<LoadConnection | null> {
    const o = this.#o;
    const started = nowUs();
    try {
      const conn = await LoadConnection.open({
        url: o.urls[urlIndex]!,
        dialect: this.#dialect,
        ...sourceEndpoint(i, o.sourceAddresses),
        token,
        tokenVia: o.tokenVia,
        timeoutMs: o.connectTimeoutMs,
        positioned: o.scenario === 'recovery',
      });
      const took = nowUs() - started;
      recordUs(this.#connectHist, took);
      if (o.scenario === 'connect') {
        recordUs(this.#interval, took);
        this.#intervalCount++;
      }
      this.#connectOk++;
      this.#conns.add(conn);
      if (this.#conns.size > this.#peakOpen) this.#peakOpen = this.#conns.size;
      return conn;
    } catch (error) {
      this.#count1(this.#failures, error instanceof ConnectFailure ? error.reason : 'error');
      return null;
    }
  }

  /** Counts error frames and unexpected closes of `conn`. */
  #watch(conn: LoadConnection): void {
    conn.onErrorFrame = (code) => {
      if (code === 'unexpected_reply') this.#counts.duplicates++;
      this.#count1(this.#errors, code);
    };
    conn.onClose = (code) => {
      this.#count1(this.#closes, String(code));
      this.#conns.delete(conn);
    };
  }

  /** The delivery handler of one steady subscriber: latency, sequence, shared counter. */
  #steadyReceiver(sub: Subscriber, urlIndex: number): (p: DecodedPayload) => void {
    const counts = this.#counts;
    const shared = this.#shared;
    const slot = this.#index;
    const byUrl = this.#byUrl;
    return (p) => {
      recordUs(this.#interval, nowUs() - p.sentUs);
      this.#intervalCount++;
      shared[slot]! += 1;
      byUrl[urlIndex]!++;
      const tracker = sub.trackers[p.publisher];
      if (tracker === undefined || p.channel !== sub.channel) {
        this.#count1(this.#errors, 'misrouted');
        return;
      }
      tracker.record(p.seq, counts);
    };
  }

  async #start(): Promise<void> {
    this.#running = true;
    const o = this.#o;
    if (o.scenario === 'connect') {
      const indices = this.#mine(o.connections);
      await forEachPaced(
        indices,
        Math.max(1, Math.ceil(this.#share(o.connectConcurrency))),
        this.#share(o.connectRate),
        () => !this.#running,
        async (i) => {
          const conn = await this.#connect(i, i % o.urls.length, this.#tokens[i] ?? null);
          if (conn !== null) this.#watch(conn);
        },
      );
    } else if (o.scenario === 'echo') {
      this.#activity = this.#echo();
    } else if (o.scenario === 'churn') {
      const churners = this.#mine(o.churnConnections).map((k) => this.#churn(o.connections + k, k));
      this.#activity = Promise.all(churners);
    }
  }

  /** Echo clients: one request in flight each (rate 0) or the shard's share of `rate`. */
  async #echo(): Promise<void> {
    const o = this.#o;
    const clients = [...this.#conns];
    if (clients.length === 0) return;
    const lastReply = new Array<number>(clients.length).fill(-1);
    const nextSeq = new Array<number>(clients.length).fill(0);
    let outstanding = 0;
    const send = (c: number, then: (() => void) | null) => {
      const conn = clients[c]!;
      const seq = nextSeq[c]!++;
      const sent = nowUs();
      this.#requests++;
      outstanding++;
      conn.echo(o.echoType, `e${seq}`, (code) => {
        outstanding--;
        if (code !== null) {
          this.#count1(this.#errors, `echo_${code}`);
          return;
        }
        this.#replies++;
        this.#counts.received++;
        if (seq < lastReply[c]!) this.#counts.outOfOrder++;
        else lastReply[c] = seq;
        recordUs(this.#interval, nowUs() - sent);
        this.#intervalCount++;
        then?.();
      });
    };
    if (o.rate === 0) {
      const loop = (c: number) => {
        if (this.#running && clients[c]!.open) send(c, () => loop(c));
      };
      for (let c = 0; c < clients.length; c++) loop(c);
      while (this.#running) await delay(50);
    } else {
      const perSec = this.#share(o.rate);
      const started = Date.now();
      let sent = 0;
      let c = 0;
      while (this.#running) {
        const due = Math.floor(((Date.now() - started) / 1000) * perSec) - sent;
        for (let k = 0; k < Math.min(due, 10_000); k++) {
          c = (c + 1) % clients.length;
          if (clients[c]!.open) send(c, null);
          sent++;
        }
        await delay(5);
      }
    }
    // Drain: wait for the replies still in flight.
    const deadline = Date.now() + o.drainMs;
    while (outstanding > 0 && Date.now() < deadline) await delay(10);
  }

  /** One churning connection: connect, subscribe, live a while, close; again until stopped. */
  async #churn(index: number, k: number): Promise<void> {
    const o = this.#o;
    const needToken = o.token !== null || o.jwtSecret !== null;
    while (this.#running) {
      const urlIndex = index % o.urls.length;
      const conn = await this.#connect(index, urlIndex, needToken ? tokenFor(o, index) : null);
      if (conn === null) {
        await delay(100);
        continue;
      }
      this.#watch(conn);
      const channel = k % o.channels;
      const trackers = Array.from({ length: o.publishers }, () => new SequenceTracker(null));
      const sub: Subscriber = { conn, channel, trackers };
      conn.onPayload = this.#churnReceiver(sub, urlIndex);
      const code = await new Promise<string | null>((resolve) =>
        conn.subscribe(this.#channels[channel]!, resolve),
      );
      if (code !== null) this.#count1(this.#errors, `subscribe_${code}`);
      const life = o.churnLifetimeMs * (0.5 + Math.random());
      const until = Date.now() + life;
      while (this.#running && Date.now() < until && conn.open) await delay(Math.min(50, until - Date.now()));
      conn.onPayload = null;
      conn.close();
      this.#conns.delete(conn);
      // A churner that left counts what went missing between the first and the last it got.
      for (const t of trackers) this.#lost += t.lost();
      this.#churnCycles++;
    }
  }

  #churnReceiver(sub: Subscriber, urlIndex: number): (p: DecodedPayload) => void {
    const counts = this.#counts;
    return (p) => {
      recordUs(this.#interval, nowUs() - p.sentUs);
      this.#intervalCount++;
      this.#byUrl[urlIndex]!++;
      const tracker = sub.trackers[p.publisher];
      if (tracker === undefined || p.channel !== sub.channel) {
        this.#count1(this.#errors, 'misrouted');
        return;
      }
      tracker.record(p.seq, counts);
    };
  }

  #tick(): TickReply {
    const interval = this.#interval;
    this.#interval = newHistogram();
    const count = this.#intervalCount;
    this.#intervalCount = 0;
    const histogram = encodeHistogram(interval);
    if (this.#o.scenario !== 'connect') this.#latency.add(interval);
    return { op: 'tick', count, histogram, open: this.#conns.size, errors: this.#errorTotal() };
  }

  #finish(sent: number[][], refused: number[][], disruptAtUs: number | null): ShardResult {
    this.#tick();
    let lost = this.#lost;
    for (const sub of [...this.#subscribers, ...this.#recovering]) {
      sub.trackers.forEach((t, p) => {
        const end = sent[p]?.[sub.channel] ?? 0;
        lost += Math.max(0, t.lost(end) - (refused[p]?.[sub.channel] ?? 0));
      });
    }
    if (this.#o.scenario === 'echo') lost += this.#requests - this.#replies - this.#errorCount('echo_');
    for (const conn of this.#conns) conn.close();
    this.#conns.clear();
    return {
      op: 'finish',
      connectOk: this.#connectOk,
      connectFailures: this.#failures,
      connectHistogram: encodeHistogram(this.#connectHist),
      latencyHistogram: encodeHistogram(this.#latency),
      received: this.#counts.received,
      duplicates: this.#counts.duplicates,
      outOfOrder: this.#counts.outOfOrder,
      lost,
      requests: this.#requests,
      replies: this.#replies,
      churnCycles: this.#churnCycles,
      peakOpen: this.#peakOpen,
      errors: this.#errors,
      closes: this.#closes,
      byUrl: this.#byUrl,
      recovery:
        this.#o.scenario === 'recovery' ? this.#recoveryTally.summarize(this.#recovering, disruptAtUs) : null,
    };
  }

  #errorTotal(): number {
    let n = 0;
    for (const v of Object.values(this.#errors)) n += v;
    for (const v of Object.values(this.#closes)) n += v;
    for (const v of Object.values(this.#failures)) n += v;
    return n;
  }

  #errorCount(prefix: string): number {
    let n = 0;
    for (const [k, v] of Object.entries(this.#errors)) if (k.startsWith(prefix)) n += v;
    return n;
  }

  #count1(into: Record<string, number>, key: string): void {
    into[key] = (into[key] ?? 0) + 1;
  }
}

/** The name of channel index `c`. */
export function channelName(c: number): string {
  return `load-${c}`;
}

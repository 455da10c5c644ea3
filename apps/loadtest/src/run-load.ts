import { nowUs } from './clock';
import { decodeHistogram, encodeHistogram, type Histogram, newHistogram, summarize } from './histogram';
import { LoadtestRunError } from './loadtest-error';
import { type LoadOptions, type ResolvedLoadOptions, type RunPhase, resolveLoadOptions } from './options';
import { delay } from './paced';
import { Publishers } from './publishers';
import { mergeRecovery } from './recovery-tally';
import type { LoadResult, RecoveryFigures, SeriesPoint, ServerFigures } from './result';
import { type ProcessSample, sampleProcess } from './server-stats';
import { channelName, type DisruptReply, type SetupReply, type ShardResult, type TickReply } from './shard';
import { localShard, type ShardHandle, workerShard } from './shard-host';
import { checkSlo } from './slo';

const PUBLISHING = new Set(['fanout', 'churn', 'multi-node', 'recovery']);

/**
 * Runs one load test and resolves with what it measured. Options are checked first (one
 * {@link LoadtestOptionsError} lists every problem); the run is bounded by `durationSec`,
 * `connectTimeoutMs`, `holdMs` and `drainMs`, and opens connections only to the URLs given.
 *
 * @example
 * const result = await runLoad({ scenario: 'fanout', urls: ['ws://127.0.0.1:8765/ws'], connections: 500, rate: 200, durationSec: 5 });
 * console.log(result.messages.lost, result.latencyMs.p99);
 */
export async function runLoad(input: LoadOptions = {}): Promise<LoadResult> {
  const o = resolveLoadOptions(input);
  const phase = async (p: RunPhase) => {
    await input.onPhase?.(p);
  };
  const counterSlots = Math.max(1, o.workers);
  const counters = new SharedArrayBuffer(8 * counterSlots);
  const shards: ShardHandle[] = [];
  for (let i = 0; i < counterSlots; i++) {
    const init = { options: o, index: i, count: counterSlots, counters };
    shards.push(o.workers === 0 ? localShard(init) : workerShard(init));
  }
  const publishers = PUBLISHING.has(o.scenario) ? new Publishers(o, counters) : null;
  const all = <R>(cmd: Parameters<ShardHandle['call']>[0]) => Promise.all(shards.map((s) => s.call<R>(cmd)));
  let progressTimer: NodeJS.Timeout | undefined;
  try {
    const setups = await all<SetupReply>({ op: 'setup' });
    const ready = setups.reduce((a, s) => a + s.ready, 0);
    if (o.scenario !== 'connect' && ready === 0 && setups.every((s) => s.noHistory === 0)) {
      throw new LoadtestRunError('no_connections', `no connection to ${o.urls.join(', ')} became ready`);
    }
    if (setups.some((s) => s.noHistory > 0)) {
      throw new LoadtestRunError(
        'no_history',
        `the subscribe acks of ${o.urls.join(', ')} carry no position: the recovery scenario needs history on its channels (${channelName(0)}…), e.g. a channel rule with history_size above 0`,
      );
    }
    const byChannel = new Array<number>(o.channels).fill(0);
    for (const s of setups) {
      s.subscribersByChannel.forEach((n, c) => {
        byChannel[c]! += n;
      });
    }
    if (publishers !== null) {
      const first = o.connections + (o.scenario === 'churn' ? o.churnConnections : 0);
      if ((await publishers.open(first)) === 0) {
        throw new LoadtestRunError(
          'no_publisher',
          `no publisher to ${o.publishUrls.join(', ')} became ready`,
        );
      }
    }
    await phase('connected');

    const before = o.serverPids.map(sampleProcess);
    const runnerBefore = process.cpuUsage();
    const startedAt = new Date();
    const t0 = nowUs();
    const series: SeriesPoint[] = [];
    const running = newHistogram();
    let lastTick = t0;
    let ticking = Promise.resolve();
    const tick = () => {
      ticking = ticking.then(async () => {
        const ticks = await all<TickReply>({ op: 'tick' });
        const now = nowUs();
        const interval = mergeTicks(ticks);
        running.add(interval.histogram);
        const s = summarize(interval.histogram);
        const point: SeriesPoint = {
          t: Math.round((now - t0) / 1e4) / 100,
          rate: Math.round((interval.count * 1e6) / Math.max(1, now - lastTick)),
          p50Ms: s.p50,
          p99Ms: s.p99,
          maxMs: s.max,
          connections: interval.open + (publishers === null ? 0 : o.publishers),
        };
        lastTick = now;
        series.push(point);
        input.onProgress?.({
          elapsedSec: point.t,
          connections: point.connections,
          ratePerSec: point.rate,
          p99Ms: summarize(running).p99,
          errors: interval.errors + (publishers === null ? 0 : sum(publishers.errors)),
        });
      });
    };
    progressTimer = setInterval(tick, 1000);

    await phase('measuring');
    await all({ op: 'start' });
    let stormMs: number | null = null;
    let disruption: { atUs: number; killed: RecoveryFigures['killed'] } | null = null;
    if (o.scenario === 'connect') {
      stormMs = (nowUs() - t0) / 1000;
      await phase('holding');
      await delay(o.holdMs);
    } else if (o.scenario === 'recovery') {
      publishers?.start(byChannel);
      await delay(o.disruptAtSec * 1000);
      disruption = await disrupt(o, all);
      await delay(Math.max(0, o.durationSec * 1000 - (nowUs() - t0) / 1000));
    } else {
      publishers?.start(byChannel);
      await delay(o.durationSec * 1000);
    }

    await phase('draining');
    const drainUntil = Date.now() + o.drainMs;
    if (publishers !== null) {
      await publishers.stop(o.drainMs);
      // Wait for the steady subscribers to get what they are owed, or for the drain to run out.
      while (publishers.received() < publishers.expectedDeliveries && Date.now() < drainUntil) await delay(5);
    }
    await all({ op: 'stop' });
    const elapsedMs = (nowUs() - t0) / 1000;
    const after = o.serverPids.map(sampleProcess);
    const runnerCpu = process.cpuUsage(runnerBefore);
    clearInterval(progressTimer);
    progressTimer = undefined;
    tick();
    await ticking;

    const results = await all<ShardResult>({
      op: 'finish',
      sent: publishers?.sent ?? [],
      refused: publishers?.refused ?? [],
      disruptAtUs: disruption?.atUs ?? null,
    });
    const result = assemble(o, results, {
      startedAt,
      elapsedMs,
      stormMs,
      series,
      publishers,
      servers: serverFigures(before, after),
      runnerCpuMs: (runnerCpu.user + runnerCpu.system) / 1000,
      recovery:
        o.scenario === 'recovery'
          ? mergeRecovery(
              results.map((r) => r.recovery!),
              { disruptAtUs: disruption?.atUs ?? null, startUs: t0, killed: disruption?.killed ?? [] },
            )
          : null,
    });
    await phase('done');
    return result;
  } finally {
    if (progressTimer !== undefined) clearInterval(progressTimer);
    publishers?.close();
    await Promise.all(shards.map((s) => s.close()));
  }
}

/**
 * The disruption of a `recovery` run: SIGKILL to every `killPids` process, and the shards drop
 * `dropConnections` of their subscribers' sockets, at one moment.
 */
async function disrupt(
  o: ResolvedLoadOptions,
  all: <R>(cmd: { op: 'disrupt'; drop: number }) => Promise<R[]>,
): Promise<{ atUs: number; killed: RecoveryFigures['killed'] }> {
  const atUs = nowUs();
  const killed = o.killPids.map((pid) => {
    try {
      process.kill(pid, 'SIGKILL');
      return { pid, error: null };
    } catch (error) {
      return { pid, error: (error as NodeJS.ErrnoException).code ?? 'error' };
    }
  });
  if (o.dropConnections > 0) await all<DisruptReply>({ op: 'disrupt', drop: o.dropConnections });
  return { atUs, killed };
}

function mergeTicks(ticks: TickReply[]): {
  count: number;
  histogram: Histogram;
  open: number;
  errors: number;
} {
  const histogram = newHistogram();
  let count = 0;
  let open = 0;
  let errors = 0;
  for (const t of ticks) {
    histogram.add(decodeHistogram(t.histogram));
    count += t.count;
    open += t.open;
    errors += t.errors;
  }
  return { count, histogram, open, errors };
}

function serverFigures(before: (ProcessSample | null)[], after: (ProcessSample | null)[]): ServerFigures[] {
  const out: ServerFigures[] = [];
  before.forEach((b, i) => {
    const a = after[i];
    if (b && a)
      out.push({ pid: a.pid, cpuMs: a.cpuMs - b.cpuMs, cpuUsPerDelivery: null, rssBytes: a.rssBytes });
  });
  return out;
}

function assemble(
  o: ResolvedLoadOptions,
  results: ShardResult[],
  run: {
    startedAt: Date;
    elapsedMs: number;
    stormMs: number | null;
    series: SeriesPoint[];
    publishers: Publishers | null;
    servers: ServerFigures[];
    runnerCpuMs: number;
    recovery: RecoveryFigures | null;
  },
): LoadResult {
  const connect = newHistogram();
  const latency = newHistogram();
  const failures: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const byUrl = o.urls.map((url) => ({ url, received: 0 }));
  let ready = 0;
  let peakOpen = 0;
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let lost = 0;
  let requests = 0;
  let replies = 0;
  let churnCycles = 0;
  for (const r of results) {
    connect.add(decodeHistogram(r.connectHistogram));
    latency.add(decodeHistogram(r.latencyHistogram));
    addInto(failures, r.connectFailures);
    addInto(errors, r.errors);
    for (const [code, n] of Object.entries(r.closes))
      errors[`close_${code}`] = (errors[`close_${code}`] ?? 0) + n;
    r.byUrl.forEach((n, i) => {
      byUrl[i]!.received += n;
    });
    ready += r.connectOk;
    peakOpen += r.peakOpen;
    received += r.received;
    duplicates += r.duplicates;
    outOfOrder += r.outOfOrder;
    lost += r.lost;
    requests += r.requests;
    replies += r.replies;
    churnCycles += r.churnCycles;
  }
  const p = run.publishers;
  if (p !== null) addInto(errors, p.errors);
  // A disruption no subscriber felt tested nothing (a wrong --kill-pid, a node without subscribers).
  if (run.recovery?.disruptedAtSec != null && run.recovery.affected === 0)
    errors.disruption_affected_none = 1;
  const seconds = run.elapsedMs / 1000;
  const isConnect = o.scenario === 'connect';
  for (const s of run.servers)
    s.cpuUsPerDelivery = received > 0 ? Math.round((s.cpuMs * 1e4) / received) / 10 : null;
  const { jwtSecret, token, ...settings } = o;
  const base: Omit<LoadResult, 'slo'> = {
    scenario: o.scenario,
    dialect: o.dialect,
    urls: o.urls,
    startedAt: run.startedAt.toISOString(),
    elapsedMs: Math.round(run.elapsedMs),
    settings: {
      ...settings,
      jwtSecret: jwtSecret === null ? null : '(set)',
      token: token === null ? null : '(set)',
    },
    connections: {
      planned:
        o.connections + (o.scenario === 'churn' ? o.churnConnections : 0) + (p === null ? 0 : o.publishers),
      ready: ready + (p === null ? 0 : o.publishers - countPrefix(p.errors, 'publisher_')),
      peakOpen: peakOpen + (p === null ? 0 : o.publishers),
      failures,
      connectMs: summarize(connect),
      perSec:
        isConnect && run.stormMs !== null ? Math.round((ready * 1000) / Math.max(1, run.stormMs)) : null,
    },
    messages: {
      sent: p === null ? requests : p.totalSent,
      expected: p === null ? requests : p.expectedDeliveries,
      received: p === null ? replies : received,
      lost,
      duplicates,
      outOfOrder,
      perSec: Math.round(received / Math.max(seconds, 1e-3)),
    },
    latencyMs: summarize(isConnect ? connect : latency),
    churnCycles,
    errors,
    byUrl: o.scenario === 'multi-node' || o.urls.length > 1 ? byUrl : [],
    recovery: run.recovery,
    servers: run.servers,
    runner: {
      cpuMs: Math.round(run.runnerCpuMs),
      cpuUsPerDelivery: received > 0 ? Math.round((run.runnerCpuMs * 1e4) / received) / 10 : null,
    },
    series: run.series,
    histogram: encodeHistogram(isConnect ? connect : latency),
  };
  return { ...base, slo: checkSlo(o.slo, base) };
}

function addInto(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

function sum(r: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(r)) n += v;
  return n;
}

function countPrefix(r: Record<string, number>, prefix: string): number {
  let n = 0;
  for (const [k, v] of Object.entries(r)) if (k.startsWith(prefix)) n += v;
  return n;
}

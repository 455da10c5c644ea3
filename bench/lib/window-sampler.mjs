// Samples, every 100 ms while a storm runs, what the storm and presence sections report over a
// window of it: the servers' and the store's CPU time, this runner's, their waits for a CPU,
// the store's operation counters and the kernel's listen-queue overflows; and this runner's
// event-loop delay.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sampleProcess } from '@dotmac-ws/loadtest';
import { listenOverflows } from './net-util.mjs';
import { schedWaitMs } from './sched-wait.mjs';
import { opsDelta } from './store-process.mjs';

const INTERVAL_MS = 100;
const cpu = (pid) => sampleProcess(pid)?.cpuMs ?? null;
const diff = (a, b) => (a === null || b === null ? null : b - a);
const share = (d, wall) => (d === null ? null : d / wall);
const sum = (values) => (values.some((v) => v === null) ? null : values.reduce((a, b) => a + b, 0));

export class WindowSampler {
  #samples = [];
  #timer = null;
  #counting = Promise.resolve();
  #loopDelay = monitorEventLoopDelay({ resolution: 10 });

  /** `store`: from startStore, or null; `serverPids`: the gateways measured (CPU summed). */
  constructor(store, serverPids) {
    this.store = store;
    this.serverPids = serverPids;
  }

  /** Takes the first sample and resolves once its counters are read: the baseline predates what follows. */
  async start() {
    this.#loopDelay.enable();
    this.#sample();
    await this.#counting;
    this.#timer = setInterval(() => this.#sample(), INTERVAL_MS);
  }

  /** Stops sampling (one last sample now) and waits for the counters still being read. */
  async stop() {
    if (this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
    this.#loopDelay.disable();
    this.#sample();
    await this.#counting;
  }

  /**
   * The figures between `from` and `to` (performance.now() ms), widened to the samples around
   * them: the last at or before `from`, the first at or after `to`.
   */
  window(from, to) {
    const samples = this.#samples;
    const s0 = samples.findLast((s) => s.t <= from) ?? samples[0];
    const s1 = samples.find((s) => s.t >= to) ?? samples.at(-1);
    const wall = Math.max(1, s1.t - s0.t);
    const ops = this.store ? opsDelta(this.store.kind, s0.ops, s1.ops) : null;
    const runnerMs = (s1.runner.user + s1.runner.system - s0.runner.user - s0.runner.system) / 1000;
    const storeCpu = diff(s0.store, s1.store);
    return {
      wallMs: Math.round(wall),
      serverCpuMs: diff(s0.servers, s1.servers),
      serverWaitShare: share(diff(s0.serverWait, s1.serverWait), wall),
      storeCpuMs: storeCpu,
      storeCpuShare: share(storeCpu, wall),
      storeOps: ops?.total ?? null,
      storeScripts: ops?.scripts ?? null,
      storeOpsBy: ops?.by ?? null,
      listenOverflows: diff(s0.overflows, s1.overflows),
      runnerCpuMs: Math.round(runnerMs),
      runnerBusy: runnerMs / wall,
      runnerWaitShare: share(diff(s0.runnerWait, s1.runnerWait), wall),
      // From start() to stop(): how late this runner's timers and I/O callbacks ran at worst.
      runnerLoopDelayMaxMs: Math.round(this.#loopDelay.max / 1e6),
    };
  }

  #sample() {
    const s = {
      t: performance.now(),
      servers: sum(this.serverPids.map(cpu)),
      serverWait: sum(this.serverPids.map((pid) => schedWaitMs(pid))),
      store: this.store ? cpu(this.store.pid) : null,
      runner: process.cpuUsage(),
      runnerWait: schedWaitMs(),
      overflows: listenOverflows(),
      ops: null,
    };
    this.#samples.push(s);
    if (this.store === null) return;
    this.#counting = this.#counting.then(async () => {
      s.ops = await this.store.counts().catch(() => null);
    });
  }
}

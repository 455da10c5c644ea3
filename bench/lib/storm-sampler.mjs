// Samples, every 100 ms while a storm runs, what the storm section reports over the storm's
// window: the store's and the survivor's CPU time, this runner's, their waits for a CPU, the
// store's operation counters and the kernel's listen-queue overflows; and this runner's
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

export class StormSampler {
  #samples = [];
  #timer = null;
  #counting = Promise.resolve();
  #loopDelay = monitorEventLoopDelay({ resolution: 10 });

  /** `store`: from startStore; `survivor`: the gateway that stays up. */
  constructor(store, survivor) {
    this.store = store;
    this.survivor = survivor;
  }

  start() {
    this.#loopDelay.enable();
    this.#sample();
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
   * them: the last at or before `from`, the first at or after `to`. `affected`: the clients the
   * store's operations are divided by.
   */
  window(from, to, affected) {
    const samples = this.#samples;
    const s0 = samples.findLast((s) => s.t <= from) ?? samples[0];
    const s1 = samples.find((s) => s.t >= to) ?? samples.at(-1);
    const wall = Math.max(1, s1.t - s0.t);
    const ops = opsDelta(this.store.kind, s0.ops, s1.ops);
    const runnerMs = (s1.runner.user + s1.runner.system - s0.runner.user - s0.runner.system) / 1000;
    const storeCpu = diff(s0.store, s1.store);
    return {
      stormMs: Math.round(wall),
      storeCpuMs: storeCpu,
      storeCpuShare: share(storeCpu, wall),
      storeOps: ops.total,
      storeOpsPerClient: Math.round((ops.total / Math.max(1, affected)) * 100) / 100,
      storeScripts: ops.scripts,
      storeOpsBy: ops.by,
      survivorCpuMs: diff(s0.survivor, s1.survivor),
      survivorWaitShare: share(diff(s0.survivorWait, s1.survivorWait), wall),
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
      store: cpu(this.store.pid),
      survivor: cpu(this.survivor.pid),
      survivorWait: schedWaitMs(this.survivor.pid),
      runner: process.cpuUsage(),
      runnerWait: schedWaitMs(),
      overflows: listenOverflows(),
      ops: null,
    };
    this.#samples.push(s);
    this.#counting = this.#counting.then(async () => {
      s.ops = await this.store.counts().catch(() => null);
    });
  }
}

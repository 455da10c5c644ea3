import { Worker } from 'node:worker_threads';
import { onCleanup } from '@dotmac-ws/test-utils';

/** The source address of the well-behaved client: its own rate-limit bucket, never used by the fuzzer. */
export const WATCHER_ADDRESS = '127.0.0.2';

/** Something the well-behaved client saw go wrong, stamped with the time it saw it. */
export interface WatcherViolation {
  at: number;
  message: string;
}

/** What the well-behaved client did, when it stopped. */
export interface WatcherSummary {
  sent: number;
  answered: number;
  maxRttMs: number;
}

/** Options of {@link PongWatcher.start}. */
export interface PongWatcherOptions {
  /** Time between two pings. @default 150 */
  intervalMs?: number;
  /** A ping unanswered for longer is a violation. @default 2000 */
  gapMs?: number;
}

type WorkerMessage =
  | { kind: 'welcome' }
  | { kind: 'violation'; at: number; message: string }
  | ({ kind: 'summary' } & WatcherSummary);

/**
 * A well-behaved client connected throughout a fuzz run (in a worker thread): it sends `ping`
 * every 150 ms and expects every pong within 2 s; a late or missing pong, an error reply or a
 * close it did not ask for is a violation, reported as soon as it is seen.
 */
export class PongWatcher {
  readonly violations: WatcherViolation[] = [];
  #summary: Promise<WatcherSummary>;
  #resolveSummary!: (s: WatcherSummary) => void;

  private constructor(readonly worker: Worker) {
    this.#summary = new Promise((resolve) => {
      this.#resolveSummary = resolve;
    });
  }

  /** Connects to the gateway on `port` and resolves once `welcome` arrived. */
  static async start(port: number, options: PongWatcherOptions = {}): Promise<PongWatcher> {
    const worker = new Worker(new URL('./pong-watcher-worker.mjs', import.meta.url), {
      workerData: {
        url: `ws://127.0.0.1:${port}/ws`,
        localAddress: WATCHER_ADDRESS,
        intervalMs: options.intervalMs ?? 150,
        gapMs: options.gapMs ?? 2000,
      },
    });
    const watcher = new PongWatcher(worker);
    onCleanup(() => worker.terminate());
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the well-behaved client got no welcome within 5 s')),
        5000,
      );
      worker.on('message', (msg: WorkerMessage) => {
        if (msg.kind === 'welcome') {
          clearTimeout(timer);
          resolve();
        } else if (msg.kind === 'violation') {
          watcher.violations.push({ at: msg.at, message: msg.message });
        } else {
          watcher.#resolveSummary({ sent: msg.sent, answered: msg.answered, maxRttMs: msg.maxRttMs });
        }
      });
      worker.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    return watcher;
  }

  /** The violations seen at or after `since` (a `Date.now()` value). */
  violationsSince(since: number): WatcherViolation[] {
    return this.violations.filter((v) => v.at >= since);
  }

  /** Stops pinging, waits (at most the gap) for the last pongs, and resolves with the summary. */
  async stop(): Promise<WatcherSummary> {
    this.worker.postMessage({ kind: 'stop' });
    const summary = await Promise.race([
      this.#summary,
      new Promise<WatcherSummary>((_, reject) =>
        setTimeout(() => reject(new Error('the well-behaved client did not stop within 10 s')), 10_000),
      ),
    ]);
    await this.worker.terminate();
    return summary;
  }
}

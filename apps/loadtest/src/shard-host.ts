import { Worker } from 'node:worker_threads';
import { Shard, type ShardCommand, type ShardInit } from './shard';

/** How the coordinator reaches a shard, in this thread or in a worker thread. */
export interface ShardHandle {
  call<R>(cmd: ShardCommand): Promise<R>;
  close(): Promise<void>;
}

/** A shard in this thread. */
export function localShard(init: ShardInit): ShardHandle {
  const shard = new Shard(init);
  return {
    call: <R>(cmd: ShardCommand) => shard.handle(cmd) as Promise<R>,
    close: async () => {},
  };
}

/**
 * A shard in a worker thread. The worker runs the built `shard-worker.js` next to this module,
 * so worker threads need the package's dist (the CLI and the published package have it).
 */
export function workerShard(init: ShardInit): ShardHandle {
  const worker = new Worker(new URL('./shard-worker.js', import.meta.url), { workerData: init });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let seq = 0;
  let dead: Error | null = null;
  const failAll = (error: Error) => {
    dead = error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  worker.on('message', (m: { seq: number; reply?: unknown; error?: string }) => {
    const w = waiting.get(m.seq);
    if (w === undefined) return;
    waiting.delete(m.seq);
    if (m.error !== undefined) w.reject(new Error(`shard ${init.index}: ${m.error}`));
    else w.resolve(m.reply);
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => failAll(new Error(`shard ${init.index} exited with code ${code}`)));
  return {
    call: <R>(cmd: ShardCommand) =>
      new Promise<R>((resolve, reject) => {
        if (dead !== null) return reject(dead);
        const n = seq++;
        waiting.set(n, { resolve: resolve as (v: unknown) => void, reject });
        worker.postMessage({ seq: n, cmd });
      }),
    close: async () => {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}

import { parentPort, workerData } from 'node:worker_threads';
import { Shard, type ShardCommand, type ShardInit } from './shard';

// A worker thread's entry: one shard, driven by the coordinator's numbered commands.
const shard = new Shard(workerData as ShardInit);
parentPort?.on('message', (message: { seq: number; cmd: ShardCommand }) => {
  shard.handle(message.cmd).then(
    (reply) => parentPort?.postMessage({ seq: message.seq, reply }),
    (error: unknown) => parentPort?.postMessage({ seq: message.seq, error: String(error) }),
  );
});

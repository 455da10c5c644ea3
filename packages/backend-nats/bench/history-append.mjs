// NatsHistoryStore append throughput on one channel (the gateway appends once per publication
// in a channel with history), on the NATS at BENCH_NATS_URL (default nats://127.0.0.1:4222).
//
//   pnpm --filter @dotmac-ws/backend-nats build && node bench/history-append.mjs
//   BENCH_APPENDS=5000 BENCH_BODY=200 node bench/history-append.mjs
//   BENCH_NATS_URL=nats://127.0.0.1:4333 BENCH_NATS_PID=<its pid> node bench/history-append.mjs
//
// With BENCH_NATS_PID (a nats-server of the run's own, on Linux), each line also gives that
// server's CPU time per append (from /proc/<pid>/stat, 10 ms ticks).
//
// Four runs, each on a channel of its own: one node awaiting each append before the next; one
// node keeping 200 appends in flight (a new one called as each resolves: a busy channel whose
// publishers await their acks); one node with every append called at once (the store keeps
// call order); two nodes calling at once on the same channel (offsets contended across nodes).
// Each run checks the offsets it got. Then reads of 100 publications: the last 100 of the first
// channel (one publication per message) and of the second (batches), and 100 from 500 before
// the top of the second (a read that stops short of the top). The stream and bucket it creates
// are deleted at the end.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NatsHistoryStore } from '../dist/index.js';

const url = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const APPENDS = Number(process.env.BENCH_APPENDS ?? 5000);
const BODY = Buffer.alloc(Number(process.env.BENCH_BODY ?? 200), 'x');
if (!Number.isInteger(APPENDS) || APPENDS < 1 || APPENDS > 1_000_000)
  throw new Error('BENCH_APPENDS must be 1..1000000');

const subjectPrefix = `dotmac-bench.${randomBytes(4).toString('hex')}`;
const make = async () => {
  const s = new NatsHistoryStore({ servers: url, subjectPrefix });
  await s.start();
  return s;
};
const a = await make();
const b = await make();
const entry = (channel) => ({ channel, body: BODY, size: 1000, ttlMs: 300_000, topic: `channel:${channel}` });
const PID = process.env.BENCH_NATS_PID;
/** The server's CPU time so far in µs (utime + stime, fields 14 and 15 of /proc/<pid>/stat). */
const serverCpuUs = () => {
  if (PID === undefined) return 0;
  const fields = readFileSync(`/proc/${PID}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};
let cpu0 = 0;
const rate = (n, t0) => {
  const perSec = `${Math.round(n / ((performance.now() - t0) / 1000))} appends/s`;
  if (PID === undefined) return perSec;
  const us = Math.round((serverCpuUs() - cpu0) / n);
  return `${perSec} (nats-server ${us} µs CPU per append)`;
};
const mark = () => {
  cpu0 = serverCpuUs();
  return performance.now();
};

try {
  let t0 = mark();
  for (let i = 0; i < APPENDS; i++) await a.append(entry('awaited'));
  console.log(`one node, awaited one by one: ${rate(APPENDS, t0)}`);

  t0 = mark();
  const IN_FLIGHT = 200;
  let called = 0;
  const offsets = [];
  const worker = async () => {
    while (called < APPENDS) {
      called++;
      offsets.push((await a.append(entry('in-flight'))).offset);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, APPENDS) }, worker));
  console.log(`one node, ${IN_FLIGHT} appends in flight: ${rate(APPENDS, t0)}`);
  offsets.sort((x, y) => x - y);
  if (offsets.some((o, i) => o !== i + 1)) throw new Error('200 in flight: offsets are not 1..n');

  t0 = mark();
  const atOnce = await Promise.all(Array.from({ length: APPENDS }, () => a.append(entry('at-once'))));
  console.log(`one node, all called at once: ${rate(APPENDS, t0)}`);
  if (atOnce.some((r, i) => r.offset !== i + 1)) throw new Error('at once: offsets not in call order');

  t0 = mark();
  const half = Math.floor(APPENDS / 2);
  await Promise.all([a, b].flatMap((s) => Array.from({ length: half }, () => s.append(entry('two-nodes')))));
  console.log(`two nodes at once, same channel: ${rate(2 * half, t0)}`);
  const top = await a.top('two-nodes');
  if (top.offset !== 2 * half) throw new Error(`two nodes: top ${top.offset}, expected ${2 * half}`);

  const reads = 500;
  const readBench = async (label, channel, query) => {
    const t = performance.now();
    for (let i = 0; i < reads; i++) await a.read(channel, query);
    console.log(`${label}: ${Math.round(((performance.now() - t) / reads) * 100) / 100} ms each`);
  };
  await readBench('read of the last 100 (one publication per message)', 'awaited', {
    after: APPENDS - 100,
    limit: 100,
  });
  await readBench('read of the last 100 (batched)', 'in-flight', { after: APPENDS - 100, limit: 100 });
  await readBench('read of 100 from 500 before the top (batched)', 'in-flight', {
    after: APPENDS - 500,
    limit: 100,
  });
} finally {
  await a.stop();
  await b.stop();
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  await jsm.streams.delete(a.streamName).catch(() => false);
  await jsm.streams.delete(`KV_${a.epochBucket}`).catch(() => false);
  await nc.close();
}

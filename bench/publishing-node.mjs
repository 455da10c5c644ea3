// The publishing node's CPU per message, without clients: `broadcastToChannel` on a gateway
// whose backend is the shared Redis or NATS, 500 calls per event-loop turn over 2,000 channels
// with no local subscriber (node B of the two-node shapes, minus the client frames). Each round
// publishes 100,000 messages and reads this process's CPU time; the first round is a warm-up.
//
//   node bench/publishing-node.mjs nats|redis [--repo DIR] [--rounds N]
//
// `--repo` measures another checkout (a worktree of an earlier commit, built), so that before
// and after can be alternated in one sitting. Pin it (`taskset -c 1`) away from the broker's work.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { repo: { type: 'string' }, rounds: { type: 'string', default: '7' } },
});
const which = positionals[0];
if (which !== 'nats' && which !== 'redis') {
  console.error('usage: node bench/publishing-node.mjs nats|redis [--repo DIR] [--rounds N]');
  process.exit(2);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) {
  console.error('--rounds must be a whole number from 1 to 50');
  process.exit(2);
}
const repo = resolve(values.repo ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const req = createRequire(join(repo, 'apps/gateway/package.json'));
const core = await import(req.resolve('@dotmac-ws/core'));
const prefix = `bench-publishing-${process.pid}`;
let backend;
if (which === 'nats') {
  const { NatsBackend } = await import(req.resolve('@dotmac-ws/backend-nats'));
  backend = new NatsBackend({ servers: 'nats://127.0.0.1:4222', subjectPrefix: prefix });
} else {
  const { RedisBackend } = await import(req.resolve('@dotmac-ws/backend-redis'));
  backend = new RedisBackend({ url: 'redis://127.0.0.1:6379', keyPrefix: `${prefix}:` });
}
const gateway = new core.WebSocketGateway(
  core.createDevelopmentConfig({
    host: '127.0.0.1',
    port: 0,
    backend,
    logger: core.createConsoleLogger('warn'),
  }),
);
await gateway.start();

const PER_TURN = 500;
const PER_ROUND = 100_000;
const names = Array.from({ length: 2000 }, (_, i) => `c${String(i).padStart(5, '0')}`);
const data = { seq: 1, pad: 'x'.repeat(40) };

/** CPU nanoseconds per message over one round. */
async function round() {
  const before = process.cpuUsage();
  let k = 0;
  for (let turn = 0; turn < PER_ROUND / PER_TURN; turn++) {
    const sent = [];
    for (let j = 0; j < PER_TURN; j++)
      sent.push(gateway.broadcastToChannel(names[k++ % names.length], 'message', data));
    await Promise.all(sent);
  }
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1000) / PER_ROUND;
}

try {
  await round();
  const all = [];
  for (let r = 0; r < rounds; r++) all.push(await round());
  const sorted = [...all].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(
    `${which} ${repo}: ${median.toFixed(0)} ns per message (median of ${rounds}; rounds ${all.map((x) => x.toFixed(0)).join(' ')})`,
  );
} finally {
  await gateway.stop();
}

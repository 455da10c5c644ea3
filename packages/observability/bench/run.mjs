// Fan-out throughput with observability off, metrics on, and tracing on at sampling 0 and 1.0,
// in one run: the modes alternate for BENCH_ROUNDS rounds and the median of each is reported.
// Spans go to an OTLP/HTTP receiver in this process that accepts and drops them.
// Usage: pnpm --filter @dotmac-ws/observability build && node packages/observability/bench/run.mjs
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MODES = ['off', 'metrics', 'tracing0', 'tracing1'];
let spansBytes = 0;
const receiver = createServer((req, res) => {
  req.on('data', (c) => {
    spansBytes += c.length;
  });
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const otlp = `http://127.0.0.1:${receiver.address().port}/v1/traces`;

const results = Object.fromEntries(MODES.map((m) => [m, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of MODES) {
    const out = await runMode(mode);
    const line = JSON.parse(out.trim().split('\n').pop());
    results[mode].push(line);
    process.stderr.write(
      `round ${r + 1} ${mode}: ${line.deliveries_per_s} deliveries/s, ${line.server_cpu_us_per_broadcast} us CPU/broadcast\n`,
    );
  }
}

/** One run of `mode` in a fresh process; retried twice (a workspace rebuild can hide a dist for a moment). */
async function runMode(mode) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce(mode);
    } catch (error) {
      if (attempt === 3) throw error;
      process.stderr.write(`${error.message}; again in 2 s\n`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

function runOnce(mode) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL('./fanout.mjs', import.meta.url).pathname, mode], {
      env: { ...process.env, BENCH_OTLP_URL: otlp },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (c) => {
      text += c;
    });
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`${mode} exited ${code}`))));
  });
}
receiver.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(results.off.map((x) => x.deliveries_per_s));
const first = results.off[0];
console.log(
  `fan-out: ${first.clients} subscribers, ${first.broadcasts} broadcasts per run, ${ROUNDS} rounds, median`,
);
const baseCpu = median(results.off.map((x) => x.server_cpu_us_per_broadcast));
// Paired per round: each mode against the 'off' run just before it (less noise than medians alone).
const paired = (mode) =>
  median(
    results[mode].map(
      (x, i) => x.server_cpu_us_per_broadcast / results.off[i].server_cpu_us_per_broadcast - 1,
    ),
  );
console.log('mode       deliveries/s  vs off   server CPU us/broadcast  vs off   paired CPU vs off');
for (const mode of MODES) {
  const d = median(results[mode].map((x) => x.deliveries_per_s));
  const c = median(results[mode].map((x) => x.server_cpu_us_per_broadcast));
  const pct = (v, b) => `${(((v - b) / b) * 100).toFixed(1)}%`.padStart(7);
  console.log(
    `${mode.padEnd(10)} ${String(d).padStart(12)} ${pct(d, base)}   ${String(c).padStart(22)} ${pct(c, baseCpu)}   ${`${(paired(mode) * 100).toFixed(1)}%`.padStart(17)}`,
  );
}
console.log(`OTLP bytes received: ${spansBytes}`);

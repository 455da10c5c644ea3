// Instructions per broadcast under valgrind's callgrind (counts, not seconds: a loaded machine
// does not change them). For each mode: one run of LOW and one of HIGH broadcasts (each after
// min(2000, n) warm-up broadcasts); the difference over the difference is the cost of one, with
// start-up left out. V8's optimizing compiler runs in both, so a longer HIGH amortizes it better.
// Usage: node packages/observability/bench/instructions.mjs [modes…]
//   (needs valgrind; BENCH_LOW=1000 BENCH_HIGH=11000 by default; minutes a run)
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';

const LOW = Number(process.env.BENCH_LOW ?? 1000);
const HIGH = Number(process.env.BENCH_HIGH ?? 11000);
const modes = process.argv.length > 2 ? process.argv.slice(2) : ['off', 'metrics', 'tracing0', 'tracing1'];
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const otlp = `http://127.0.0.1:${receiver.address().port}/v1/traces`;

function collected(mode, messages) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'valgrind',
      [
        '--tool=callgrind',
        '--callgrind-out-file=/dev/null',
        process.execPath,
        new URL('./fanout.mjs', import.meta.url).pathname,
        mode,
      ],
      {
        env: { ...process.env, BENCH_CLIENTS: '20', BENCH_MESSAGES: String(messages), BENCH_OTLP_URL: otlp },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.on('exit', () => {
      const m = /Collected : (\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`no callgrind total for ${mode}:\n${err.slice(-2000)}`));
    });
  });
}
const rows = [];
for (const mode of modes) {
  const low = await collected(mode, LOW);
  const high = await collected(mode, HIGH);
  const extra = HIGH + Math.min(2000, HIGH) - LOW - Math.min(2000, LOW);
  rows.push([mode, Math.round((high - low) / extra)]);
  process.stderr.write(`${mode}: ${rows.at(-1)[1]} instructions per broadcast\n`);
}
receiver.close();
console.log(
  '20 subscribers, instructions per broadcast (callgrind); each mode against the last "off" before it',
);
let off;
for (const [mode, n] of rows) {
  if (mode === 'off') off = n;
  console.log(
    `${mode.padEnd(12)} ${String(n).padStart(9)}${off ? `  ${(((n - off) / off) * 100).toFixed(1)}%` : ''}`,
  );
}

// Cost of reading one inbound frame (`parseFrame`: JSON, prototype keys, nesting depth, fields)
// for a typical ~100-byte publish and two 4 KB ones (many small objects; one long text), in ns of
// CPU time per parse.
// Build first: `pnpm --filter @dotmac-ws/core build`, then `node bench/parse-frame.mjs`.
// JSON.parse alone is measured beside it, as the floor (the machine may be busy).
// Env: BENCH_DIST (another build's index.js, to compare), BENCH_ITERATIONS (200000), BENCH_ROUNDS (5); the best round is reported.
const { parseFrame } = await import(process.env.BENCH_DIST ?? '../dist/index.js');

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const small = JSON.stringify({
  type: 'publish',
  id: 42,
  channel: 'room:lobby',
  event: 'chat',
  data: { user: 'alice', text: 'hello everyone' },
});
const records = [];
for (let i = 0; records.length === 0 || JSON.stringify(records).length < 3900; i++) {
  records.push({ id: i, name: `item-${i}`, tags: ['a', 'b'], price: i * 1.5, ok: i % 2 === 0 });
}
const large = JSON.stringify({ type: 'publish', id: 'req-7', channel: 'catalog', data: { records } });
const prose = JSON.stringify({
  type: 'publish',
  id: 'req-8',
  channel: 'docs',
  data: { title: 'notes', body: 'lorem ipsum dolor sit amet '.repeat(148) },
});

function measure(text, parse) {
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  for (let r = 0; r < ROUNDS; r++) {
    // CPU time of this process, not wall time: steadier on a machine shared with other work.
    const start = process.cpuUsage();
    for (let i = 0; i < ITERATIONS; i++) sink += parse(text).type.length;
    const used = process.cpuUsage(start);
    const ns = ((used.user + used.system) * 1000) / ITERATIONS;
    if (ns < best) best = ns;
  }
  if (sink === 0) throw new Error('nothing parsed');
  return best;
}

for (const [name, text] of [
  ['publish ~100 B', small],
  ['publish 4 KB of records', large],
  ['publish 4 KB of text', prose],
]) {
  const frame = measure(text, parseFrame);
  const plain = measure(text, JSON.parse);
  console.log(
    `${name} (${Buffer.byteLength(text)} bytes): parseFrame ${frame.toFixed(0)} ns, JSON.parse alone ${plain.toFixed(0)} ns per parse`,
  );
}

// Preloaded into every benchmarked server (node --expose-gc -r probe.cjs): on SIGUSR2 it runs a
// full GC and writes process.memoryUsage() to $BENCH_PROBE_FILE, so the bench reads RSS and
// heap after GC of any server, the gateway included, without changing its code.
const { writeFileSync } = require('node:fs');

process.on('SIGUSR2', () => {
  global.gc?.();
  global.gc?.();
  writeFileSync(process.env.BENCH_PROBE_FILE, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));
});

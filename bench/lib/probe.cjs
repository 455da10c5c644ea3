// Preloaded into every benchmarked server (node --expose-gc -r probe.cjs): on SIGUSR2 it runs a
// full GC and writes process.memoryUsage() to $BENCH_PROBE_FILE, so the bench reads RSS and
// heap after GC of any server, the gateway included, without changing its code.
const { renameSync, writeFileSync } = require('node:fs');

process.on('SIGUSR2', () => {
  global.gc?.();
  global.gc?.();
  // Written aside and renamed: the bench never reads a file half written.
  const file = process.env.BENCH_PROBE_FILE;
  writeFileSync(`${file}.tmp`, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));
  renameSync(`${file}.tmp`, file);
});

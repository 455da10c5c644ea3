import { performance } from 'node:perf_hooks';

// performance.now() is cheap (no allocation) but counts from this thread's start; the offset
// turns it into the machine's monotonic clock (what process.hrtime reads), one clock for every
// thread and process, so a send time written by one thread can be read by another.
const t = process.hrtime();
const OFFSET_US = t[0] * 1e6 + t[1] / 1e3 - performance.now() * 1e3;

/** Microseconds on the machine's monotonic clock. */
export function nowUs(): number {
  return performance.now() * 1e3 + OFFSET_US;
}

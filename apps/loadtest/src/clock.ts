/**
 * Microseconds on the machine's monotonic clock. It is one clock for every thread and process
 * of a machine, so a send time written by a publisher in one thread can be read by a
 * subscriber in another.
 */
export function nowUs(): number {
  const t = process.hrtime();
  return t[0] * 1e6 + t[1] / 1e3;
}

// How long a process's main thread waited for a CPU while runnable (Linux
// /proc/PID/schedstat, second field): on a shared machine it tells a process that had nothing
// to do from one that other processes kept off its core.
import { readFileSync } from 'node:fs';

/** Time the main thread of `pid` (default: this process) spent runnable but not running, in ms; null off Linux. */
export function schedWaitMs(pid = process.pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return null;
  }
}

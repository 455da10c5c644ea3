/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight and, when `ratePerSec` is
 * above 0, starts item k no sooner than k / ratePerSec seconds after the first. Stops starting
 * new items once `stopped()` is true.
 */
export async function forEachPaced<T>(
  items: readonly T[],
  concurrency: number,
  ratePerSec: number,
  stopped: () => boolean,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const started = Date.now();
  const lane = async () => {
    while (next < items.length && !stopped()) {
      const k = next++;
      if (ratePerSec > 0) {
        const due = started + (k * 1000) / ratePerSec - Date.now();
        if (due > 0) await delay(due);
        if (stopped()) return;
      }
      await fn(items[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
}

/** Resolves after `ms` milliseconds, or as soon as `signal` aborts (never rejects). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

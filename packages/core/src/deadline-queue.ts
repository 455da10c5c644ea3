/** Node's setTimeout caps delays at 2^31-1 ms; a later deadline is reached in legs. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Many deadlines on one timer: items wait in buckets of `stepMs` (a deadline is rounded up to
 * the next multiple of the step, so an item is due at most one step late), and one unreferenced
 * timer is armed for the earliest bucket. For deadlines that thousands of sessions hold at once
 * and most never reach, such as token expiries: a session costs one set entry instead of a
 * `Timeout` with its arguments (about 250 bytes), and adding or removing one is a map lookup
 * instead of a timer list insertion. Tokens expire on whole seconds, so the sessions of a
 * connection storm share a few buckets.
 *
 * An item is in at most one bucket: {@link add} returns the bucket's key, which the owner keeps
 * and hands to {@link delete}. Due items are taken out before `onDue` sees them, in deadline
 * order; an `onDue` that throws is reported to `onError` and does not stop the others.
 * @internal
 */
export class DeadlineQueue<T> {
  readonly #buckets = new Map<number, Set<T>>();
  /** The buckets' keys as a binary min-heap; a key whose bucket emptied stays until it is popped. */
  readonly #keys: number[] = [];
  readonly #stepMs: number;
  readonly #onDue: (item: T) => void;
  readonly #onError: (error: unknown) => void;
  /** The bucket being handed over (out of `#buckets` already). */
  #due: Set<T> | null = null;
  #timer: NodeJS.Timeout | undefined;
  /** The time the timer is armed for (ms since the epoch); Infinity when none is. */
  #timerAt = Number.POSITIVE_INFINITY;
  readonly #fire = () => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#runDue();
  };

  constructor(onDue: (item: T) => void, onError: (error: unknown) => void, stepMs = 100) {
    this.#onDue = onDue;
    this.#onError = onError;
    this.#stepMs = stepMs;
  }

  /** Items waiting. */
  get size(): number {
    let n = 0;
    for (const bucket of this.#buckets.values()) n += bucket.size;
    return n;
  }

  /** Deadlines the queue keeps, those of buckets that emptied before they were due included. */
  get heldDeadlines(): number {
    return this.#keys.length;
  }

  /**
   * Makes `item` due at `at` (ms since the epoch), at most one step later; returns the key to
   * {@link delete} it with. An item already waiting must be deleted first.
   */
  add(item: T, at: number): number {
    const key = Math.ceil(at / this.#stepMs) * this.#stepMs;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = new Set();
      this.#buckets.set(key, bucket);
      heapPush(this.#keys, key);
      // Keys of buckets that emptied before they were due pile up under churn: rebuilt from
      // the live buckets (a sorted array is a heap) once they outnumber them.
      if (this.#keys.length > 2 * this.#buckets.size + 64) {
        const live = [...this.#buckets.keys()].sort((a, b) => a - b);
        this.#keys.length = 0;
        for (const k of live) this.#keys.push(k);
      }
    }
    bucket.add(item);
    if (key < this.#timerAt) this.#arm(key);
    return key;
  }

  /** Takes `item` out of bucket `key` (what {@link add} returned); false when it was not there. */
  delete(item: T, key: number): boolean {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined || !bucket.delete(item)) {
      // Deleted while its bucket is being handed over (an earlier item's handler closed it):
      // it is not handed over either. An item waits in one bucket only, so no key to compare.
      return this.#due?.delete(item) ?? false;
    }
    if (bucket.size === 0) this.#buckets.delete(key);
    if (this.#buckets.size === 0) this.#disarm();
    return true;
  }

  #runDue(): void {
    const now = Date.now();
    const keys = this.#keys;
    while (keys.length > 0 && keys[0]! <= now) {
      const key = heapPop(keys);
      const bucket = this.#buckets.get(key);
      if (bucket === undefined) continue;
      this.#buckets.delete(key);
      this.#due = bucket;
      for (const item of bucket) {
        bucket.delete(item);
        try {
          this.#onDue(item);
        } catch (error) {
          this.#onError(error);
        }
      }
      this.#due = null;
    }
    // Keys of emptied buckets at the top are dropped rather than armed for.
    while (keys.length > 0 && !this.#buckets.has(keys[0]!)) heapPop(keys);
    if (keys.length > 0) this.#arm(keys[0]!);
  }

  #arm(at: number): void {
    this.#disarm();
    const delay = Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#fire, delay);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }
}

function heapPush(heap: number[], value: number): void {
  let i = heap.push(value) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= value) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = value;
}

function heapPop(heap: number[]): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length === 0) return top;
  let i = 0;
  const n = heap.length;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    const right = left + 1;
    const child = right < n && heap[right]! < heap[left]! ? right : left;
    if (heap[child]! >= last) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = last;
  return top;
}

/**
 * `promise`, or a rejection with `onTimeout()` when it has not settled within `ms`. The timer
 * is cleared either way (it never keeps the process alive).
 *
 * @example
 * await withTimeout(redis.ping(), 2000, () => new RedisBackendError('timeout', 'no PONG'))
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until `promise` settles or `ms` pass, whichever comes first; never rejects (a closing
 * step that fails or hangs is given up on, e.g. a broker's `QUIT` or drain on stop).
 */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      promise.catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
        timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

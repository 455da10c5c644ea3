/**
 * `Promise.try`, which Node 20 lacks: runs `run` and returns what it gives as a promise, a
 * synchronous throw as a rejection. For the promise-returning side of a step that answers
 * synchronously when it can.
 * @internal
 */
export function promiseTry<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A publish call Redis did not answer within `commandTimeoutMs`. @internal */
export class NoPublishAnswer extends Error {
  override readonly name = 'NoPublishAnswer';
}

/**
 * Bounds publish calls in time and notices a Redis that went silent (stopped, stalled, cut off
 * without the connection breaking). A call not answered within `timeoutMs` rejects with
 * {@link NoPublishAnswer}, and from then on Redis counts as {@link silent} until it answers any
 * publish call again, a late answer to an earlier one included. While it is silent, the backend
 * refuses new publishes at once instead of queueing them behind the unanswered ones, so that a
 * stalled Redis costs neither memory nor a wait per message.
 * @internal
 */
export class PublishWatch {
  readonly #timeoutMs: number;
  #silent = false;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** True after a call went unanswered for the timeout, until Redis answers one. */
  get silent(): boolean {
    return this.#silent;
  }

  /** `call`, rejected with {@link NoPublishAnswer} when Redis has not answered it in time. */
  watch<T>(call: Promise<T>): Promise<T> {
    const ms = this.#timeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#silent = true;
        reject(new NoPublishAnswer(`Redis did not answer a publish within ${ms} ms`));
      }, ms);
      call.then(
        (value) => {
          clearTimeout(timer);
          this.#silent = false;
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          this.#silent = false;
          reject(error);
        },
      );
    });
  }
}

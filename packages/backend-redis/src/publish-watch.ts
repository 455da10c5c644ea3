import { withTimeout } from '@dotmac-ws/core';

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
    // Any answer, a late one to a call that timed out included, ends the silence.
    call.then(this.#answered, this.#answered);
    return withTimeout(call, this.#timeoutMs, this.#noAnswer);
  }

  readonly #answered = (): void => {
    this.#silent = false;
  };

  readonly #noAnswer = (): NoPublishAnswer => {
    this.#silent = true;
    return new NoPublishAnswer(`Redis did not answer a publish within ${this.#timeoutMs} ms`);
  };
}

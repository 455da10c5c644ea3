import { BackendUnavailableError, DEFAULT_BACKEND_RETRY_AFTER_MS } from './backend-unavailable-error';

/**
 * The error a backend's `publish` rejects with when it drops a message because its broker is
 * unreachable (never queued, so memory stays bounded): `{broker} is unreachable: the message on
 * {topic} was dropped`, with `retryAfterMs` the longer of 1 s and the backend's reconnection
 * delay. The caller counts the drop in its own stats.
 *
 * @param broker - the broker as users name it (`Redis`, `NATS`).
 * @param reconnectDelayMs - how long the backend waits between two reconnection attempts.
 */
export function droppedPublishError(
  broker: string,
  topic: string,
  reconnectDelayMs: number,
  cause?: unknown,
): BackendUnavailableError {
  return new BackendUnavailableError(`${broker} is unreachable: the message on ${topic} was dropped`, {
    retryAfterMs: Math.max(DEFAULT_BACKEND_RETRY_AFTER_MS, reconnectDelayMs),
    cause,
  });
}

import { describe, expect, it } from 'vitest';
import {
  BackendError,
  BackendUnavailableError,
  DEFAULT_BACKEND_RETRY_AFTER_MS,
  droppedPublishError,
  errorText,
} from '../src/index';

class ExampleBackendError extends BackendError<'down' | 'slow'> {
  override readonly name = 'ExampleBackendError';
}

describe('BackendError', () => {
  it('carries a string code, a message and a cause; subclasses keep their name', () => {
    const cause = new Error('ECONNREFUSED');
    const error = new ExampleBackendError('down', 'the broker is down', { cause });
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.code, error.message, error.cause]).toEqual([
      'ExampleBackendError',
      'down',
      'the broker is down',
      cause,
    ]);
    expect(new BackendError('x', 'y').name).toBe('BackendError');
  });
});

describe('droppedPublishError', () => {
  it('names the broker and topic, and asks for at least the default retry delay', () => {
    const cause = new Error('closed');
    const short = droppedPublishError('Redis', 'room:1', 200, cause);
    expect(short).toBeInstanceOf(BackendUnavailableError);
    expect(short.message).toBe('Redis is unreachable: the message on room:1 was dropped');
    expect(short.retryAfterMs).toBe(DEFAULT_BACKEND_RETRY_AFTER_MS);
    expect(short.cause).toBe(cause);
    expect(droppedPublishError('NATS', 't', 2500).retryAfterMs).toBe(2500);
  });
});

describe('errorText', () => {
  it('is the message of an Error, else the value as text', () => {
    expect([errorText(new TypeError('bad')), errorText('plain'), errorText(42), errorText(null)]).toEqual([
      'bad',
      'plain',
      '42',
      'null',
    ]);
  });
});

import { ErrorCode } from './constants';
import { ProtocolError } from './protocol-error';
import type { StreamPosition } from './stream-position';

/** The longest epoch a client may send back. */
const MAX_EPOCH_LENGTH = 64;
/** The longest idempotency key. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

/**
 * Reads a `since` position (`{offset, epoch}`) from a request; undefined when absent. Throws
 * `bad_request` for anything else. @internal
 */
export function readSince(value: unknown, field: string): StreamPosition | null {
  if (value === undefined || value === null) return null;
  const v = value as Record<string, unknown>;
  if (
    typeof value !== 'object' ||
    Array.isArray(value) ||
    typeof v.offset !== 'number' ||
    !Number.isSafeInteger(v.offset) ||
    v.offset < 0 ||
    typeof v.epoch !== 'string' ||
    v.epoch.length === 0 ||
    v.epoch.length > MAX_EPOCH_LENGTH
  ) {
    throw new ProtocolError(
      ErrorCode.BadRequest,
      `${field} must be {"offset": an integer >= 0, "epoch": a string of 1-${MAX_EPOCH_LENGTH} characters}`,
    );
  }
  return { offset: v.offset, epoch: v.epoch };
}

/** Reads an optional integer in [min, max]; `fallback` when absent. Throws `bad_request`. @internal */
export function readLimit(value: unknown, field: string, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new ProtocolError(ErrorCode.BadRequest, `${field} must be an integer from 0 to ${max}`);
  }
  return value;
}

/** Reads an optional boolean. Throws `bad_request`. @internal */
export function readFlag(value: unknown, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean')
    throw new ProtocolError(ErrorCode.BadRequest, `${field} must be true or false`);
  return value;
}

/** Reads an optional idempotency key (1-200 characters). Throws `bad_request`. @internal */
export function readIdempotencyKey(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new ProtocolError(
      ErrorCode.BadRequest,
      `${field} must be a string of 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
  return value;
}

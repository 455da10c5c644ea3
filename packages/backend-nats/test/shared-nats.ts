import { randomBytes } from 'node:crypto';
import { IN_CI, isReachable } from '@dotmac-ws/test-utils';

/** The shared NATS every machine runs (CI included). */
export const SHARED_NATS_URL = 'nats://127.0.0.1:4222';

/**
 * Why the NATS tests cannot run here, or false. Locally an absent NATS skips them with this
 * message; under CI=true it is a failure.
 */
export async function sharedNatsMissing(): Promise<string | false> {
  if (await isReachable('127.0.0.1', 4222)) return false;
  if (IN_CI) throw new Error('CI=true and no NATS at 127.0.0.1:4222: the NATS backend tests must run in CI');
  return 'no NATS at 127.0.0.1:4222 (start one to run these tests)';
}

/** A subject prefix no other test run uses. */
export function uniquePrefix(): string {
  return `dotmac-ws-test.${process.pid}-${randomBytes(4).toString('hex')}`;
}

import { randomBytes } from 'node:crypto';
import { SHARED_NATS, sharedServiceMissing } from '@dotmac-ws/test-utils';

/** The shared NATS every machine runs (CI included). */
export const SHARED_NATS_URL = 'nats://127.0.0.1:4222';

/**
 * Why the NATS tests cannot run here, or false. Locally an absent NATS skips them with this
 * message; under CI=true it is a failure.
 */
export function sharedNatsMissing(): Promise<string | false> {
  return sharedServiceMissing(SHARED_NATS);
}

/** A subject prefix no other test run uses. */
export function uniquePrefix(): string {
  return `dotmac-ws-test.${process.pid}-${randomBytes(4).toString('hex')}`;
}

import { runBackendConformance } from '@dotmac-ws/core/testkit';
import { vi } from 'vitest';
import { natsServerMissing, ownServerCluster } from './nats-process';

/**
 * The conformance suite with a 30 s NATS outage. It adds about 40 s, so it runs only with
 * DOTMAC_LONG_TESTS=1 (the 5 s outage runs every time, in nats-backend.conformance.test.ts).
 */
const long = process.env.DOTMAC_LONG_TESTS === '1';
const noServer = await natsServerMissing();
vi.setConfig({ testTimeout: 90_000 });

runBackendConformance({
  name: 'NatsBackend, 30 s outage',
  skip: long ? noServer : 'set DOTMAC_LONG_TESTS=1 to run it',
  brokerOutage: true,
  outageMs: 30_000,
  createCluster: ownServerCluster,
});

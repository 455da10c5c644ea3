import { runBackendConformance } from '@dotmac-ws/core/testkit';
import { NatsBackend } from '../src/index';
import { natsServerMissing, ownServerCluster } from './nats-process';
import { SHARED_NATS_URL, sharedNatsMissing, uniquePrefix } from './shared-nats';

const missing = await sharedNatsMissing();
const noServer = await natsServerMissing();

// The machine's NATS (no monitoring port: the broker's own subscription count is not asked).
runBackendConformance({
  name: 'NatsBackend on the shared NATS',
  skip: missing,
  createCluster: () => {
    const subjectPrefix = uniquePrefix();
    return { createBackend: () => new NatsBackend({ servers: SHARED_NATS_URL, subjectPrefix }) };
  },
});

// A nats-server of the test's own, with monitoring: the suite also checks on the server that a
// node subscribes a subject once and only while it has local interest, and (brokerOutage) it
// stops NATS for 5 s while clients publish.
runBackendConformance({
  name: 'NatsBackend on its own nats-server',
  skip: noServer,
  brokerOutage: true,
  createCluster: ownServerCluster,
});

import { type PresenceStoreCluster, runPresenceStoreConformance } from '@dotmac-ws/core/testkit';
import { NatsPresenceStore } from '../src/index';
import { deleteStreams, startJetStreamServer } from './jetstream-cleanup';
import { natsServerMissing } from './nats-process';
import { SHARED_NATS_URL, sharedNatsMissing, uniquePrefix } from './shared-nats';

const missing = await sharedNatsMissing();
const noServer = await natsServerMissing();

/** Stores of one test on `url`, under a subject prefix (so a bucket) of their own. */
function cluster(url: string): PresenceStoreCluster {
  const subjectPrefix = uniquePrefix();
  const probe = new NatsPresenceStore({ subjectPrefix });
  return {
    createStore: () => new NatsPresenceStore({ servers: url, subjectPrefix, commandTimeoutMs: 1000 }),
    close: () => deleteStreams(url, [`KV_${probe.bucket}`]),
  };
}

// The machine's NATS: a bucket per test, deleted after it. Expiry is kept in each member's
// value and checked on every read, so the suite's default TTL (500 ms) and slack (1 s) hold.
runPresenceStoreConformance({
  name: 'NatsPresenceStore on the shared NATS',
  skip: missing,
  createCluster: () => cluster(SHARED_NATS_URL),
});

// A nats-server -js of the test's own for the outage.
runPresenceStoreConformance({
  name: 'NatsPresenceStore on its own nats-server',
  skip: noServer,
  brokerOutage: true,
  createCluster: async ({ brokerControl }) => {
    if (!brokerControl) return cluster(SHARED_NATS_URL);
    const server = await startJetStreamServer();
    // Its bucket goes with it (killed and its directory removed after the test).
    return {
      ...cluster(server.url),
      close: undefined,
      stopBroker: () => server.kill(),
      startBroker: () => server.resume(),
    };
  },
});

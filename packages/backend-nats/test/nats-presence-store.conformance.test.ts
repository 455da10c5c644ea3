import { runPresenceStoreConformance } from '@dotmac-ws/core/testkit';
import { NatsPresenceStore } from '../src/index';
import { type StoreMaker, storeCluster } from './jetstream-cleanup';
import { natsServerMissing } from './nats-process';
import { sharedNatsMissing } from './shared-nats';

const missing = await sharedNatsMissing();
const noServer = await natsServerMissing();

const maker: StoreMaker<NatsPresenceStore> = {
  make: (servers, subjectPrefix) => new NatsPresenceStore({ servers, subjectPrefix, commandTimeoutMs: 1000 }),
  streams: (store) => [`KV_${store.bucket}`],
};

// The machine's NATS: a bucket per test, deleted after it. Expiry is kept in each member's
// value and checked on every read, so the suite's default TTL (500 ms) and slack (1 s) hold.
runPresenceStoreConformance({
  name: 'NatsPresenceStore on the shared NATS',
  skip: missing,
  createCluster: () => storeCluster(maker, false),
});

// A nats-server -js of the test's own for the outage (the other tests run on the shared NATS).
runPresenceStoreConformance({
  name: 'NatsPresenceStore on its own nats-server',
  skip: noServer,
  brokerOutage: true,
  createCluster: ({ brokerControl }) => storeCluster(maker, brokerControl),
});

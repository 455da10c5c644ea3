import { runHistoryStoreConformance } from '@dotmac-ws/core/testkit';
import { NatsHistoryStore } from '../src/index';
import { type StoreMaker, storeCluster } from './jetstream-cleanup';
import { natsServerMissing } from './nats-process';
import { sharedNatsMissing } from './shared-nats';

const missing = await sharedNatsMissing();
const noServer = await natsServerMissing();

const maker: StoreMaker<NatsHistoryStore> = {
  make: (servers, subjectPrefix) => new NatsHistoryStore({ servers, subjectPrefix, commandTimeoutMs: 1000 }),
  streams: (store) => [store.streamName, `KV_${store.epochBucket}`],
};

// The machine's NATS: a stream and an epoch bucket per test, deleted after it.
runHistoryStoreConformance({
  name: 'NatsHistoryStore on the shared NATS',
  skip: missing,
  createCluster: () => storeCluster(maker, false),
});

// A nats-server -js of the test's own for the outage (the other tests run on the shared NATS).
runHistoryStoreConformance({
  name: 'NatsHistoryStore on its own nats-server',
  skip: noServer,
  brokerOutage: true,
  createCluster: ({ brokerControl }) => storeCluster(maker, brokerControl),
});

import { type HistoryStoreCluster, runHistoryStoreConformance } from '@dotmac-ws/core/testkit';
import { NatsHistoryStore } from '../src/index';
import { deleteStreams, startJetStreamServer } from './jetstream-cleanup';
import { natsServerMissing } from './nats-process';
import { SHARED_NATS_URL, sharedNatsMissing, uniquePrefix } from './shared-nats';

const missing = await sharedNatsMissing();
const noServer = await natsServerMissing();

/** Stores of one test on `url`, under a subject prefix (so a stream and a bucket) of their own. */
function cluster(url: string): HistoryStoreCluster {
  const subjectPrefix = uniquePrefix();
  const probe = new NatsHistoryStore({ subjectPrefix });
  return {
    createStore: () => new NatsHistoryStore({ servers: url, subjectPrefix, commandTimeoutMs: 1000 }),
    close: () => deleteStreams(url, [probe.streamName, `KV_${probe.epochBucket}`]),
  };
}

// The machine's NATS: a stream and an epoch bucket per test, deleted after it.
runHistoryStoreConformance({
  name: 'NatsHistoryStore on the shared NATS',
  skip: missing,
  createCluster: () => cluster(SHARED_NATS_URL),
});

// A nats-server -js of the test's own for the outage (it is killed and started again on the
// same storage directory).
runHistoryStoreConformance({
  name: 'NatsHistoryStore on its own nats-server',
  skip: noServer,
  brokerOutage: true,
  createCluster: async ({ brokerControl }) => {
    if (!brokerControl) return cluster(SHARED_NATS_URL);
    const server = await startJetStreamServer();
    // Its streams go with it (killed and its directory removed after the test), maybe before
    // this cluster's close runs: nothing to delete.
    return {
      ...cluster(server.url),
      close: undefined,
      stopBroker: () => server.kill(),
      startBroker: () => server.resume(),
    };
  },
});

import type { HistoryStoreCluster } from '@dotmac-ws/core/testkit';
import { runHistoryStoreConformance } from '@dotmac-ws/core/testkit';
import { RedisBackend, RedisHistoryStore } from '../src/index';
import { conformanceRedis, redisBinariesMissing } from './redis-process';
import { sharedRedisMissing, uniquePrefix } from './shared-redis';

const missing = await sharedRedisMissing();
const canStartRedis = (await redisBinariesMissing()) === false;

for (const sharded of [false, true]) {
  runHistoryStoreConformance({
    name: `RedisHistoryStore, ${sharded ? 'sharded' : 'classic'} pub/sub`,
    skip: missing,
    // The outage test runs once: it does not depend on the pub/sub flavour.
    brokerOutage: canStartRedis && !sharded,
    createCluster: async ({ brokerControl }): Promise<HistoryStoreCluster> => {
      const { url, stopBroker, startBroker } = await conformanceRedis(brokerControl);
      const options = { url, keyPrefix: uniquePrefix(), sharded };
      return {
        createStore: () => new RedisHistoryStore(options),
        createBackend: () => new RedisBackend(options),
        stopBroker,
        startBroker,
      };
    },
  });
}

import type { HistoryStoreCluster } from '@dotmac-ws/core/testkit';
import { runHistoryStoreConformance } from '@dotmac-ws/core/testkit';
import { RedisBackend, RedisHistoryStore } from '../src/index';
import { RedisProcess, redisBinariesMissing } from './redis-process';
import { SHARED_REDIS_URL, sharedRedisMissing, uniquePrefix } from './shared-redis';

const missing = await sharedRedisMissing();
const canStartRedis = (await redisBinariesMissing()) === false;

for (const sharded of [false, true]) {
  runHistoryStoreConformance({
    name: `RedisHistoryStore, ${sharded ? 'sharded' : 'classic'} pub/sub`,
    skip: missing,
    // The outage test runs once: it does not depend on the pub/sub flavour.
    brokerOutage: canStartRedis && !sharded,
    createCluster: async ({ brokerControl }): Promise<HistoryStoreCluster> => {
      // The outage test stops its broker, so it gets a redis-server of its own; the rest share
      // the machine's Redis, kept apart by a key prefix of their own.
      const own = brokerControl ? await RedisProcess.start() : null;
      const options = { url: own?.url ?? SHARED_REDIS_URL, keyPrefix: uniquePrefix(), sharded };
      return {
        createStore: () => new RedisHistoryStore(options),
        createBackend: () => new RedisBackend(options),
        stopBroker: own ? () => own.kill() : undefined,
        startBroker: own ? () => own.resume() : undefined,
      };
    },
  });
}

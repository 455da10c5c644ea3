import type { PresenceStoreCluster } from '@dotmac-ws/core/testkit';
import { runPresenceStoreConformance } from '@dotmac-ws/core/testkit';
import { RedisPresenceStore } from '../src/index';
import { RedisProcess, redisBinariesMissing } from './redis-process';
import { SHARED_REDIS_URL, sharedRedisMissing, uniquePrefix } from './shared-redis';

const missing = await sharedRedisMissing();
const canStartRedis = (await redisBinariesMissing()) === false;

runPresenceStoreConformance({
  name: 'RedisPresenceStore',
  skip: missing,
  brokerOutage: canStartRedis,
  createCluster: async ({ brokerControl }): Promise<PresenceStoreCluster> => {
    // The outage test stops its broker, so it gets a redis-server of its own; the rest share
    // the machine's Redis, kept apart by a key prefix of their own.
    const own = brokerControl ? await RedisProcess.start() : null;
    const options = { url: own?.url ?? SHARED_REDIS_URL, keyPrefix: uniquePrefix() };
    return {
      createStore: () => new RedisPresenceStore(options),
      stopBroker: own ? () => own.kill() : undefined,
      startBroker: own ? () => own.resume() : undefined,
    };
  },
});

import type { PresenceStoreCluster } from '@dotmac-ws/core/testkit';
import { runPresenceStoreConformance } from '@dotmac-ws/core/testkit';
import { RedisPresenceStore } from '../src/index';
import { conformanceRedis, redisBinariesMissing } from './redis-process';
import { sharedRedisMissing, uniquePrefix } from './shared-redis';

const missing = await sharedRedisMissing();
const canStartRedis = (await redisBinariesMissing()) === false;

runPresenceStoreConformance({
  name: 'RedisPresenceStore',
  skip: missing,
  brokerOutage: canStartRedis,
  createCluster: async ({ brokerControl }): Promise<PresenceStoreCluster> => {
    const { url, stopBroker, startBroker } = await conformanceRedis(brokerControl);
    const options = { url, keyPrefix: uniquePrefix() };
    return { createStore: () => new RedisPresenceStore(options), stopBroker, startBroker };
  },
});

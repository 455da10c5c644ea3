import type { ConformanceCluster } from '@dotmac-ws/core/testkit';
import { runBackendConformance } from '@dotmac-ws/core/testkit';
import { RedisBackend } from '../src/index';
import { conformanceRedis, redisBinariesMissing } from './redis-process';
import { adminConnection, numsub, sharedRedisMissing, uniquePrefix } from './shared-redis';

const missing = await sharedRedisMissing();
const canStartRedis = (await redisBinariesMissing()) === false;

runBackendConformance({
  name: 'RedisBackend',
  skip: missing,
  brokerOutage: canStartRedis,
  createCluster: async ({ brokerControl }): Promise<ConformanceCluster> => {
    const { url, stopBroker, startBroker } = await conformanceRedis(brokerControl);
    const keyPrefix = uniquePrefix();
    const admin = adminConnection(url);
    return {
      createBackend: () => new RedisBackend({ url, keyPrefix }),
      subscriberCount: (topic) => numsub(admin, `${keyPrefix}${topic}`),
      stopBroker,
      startBroker,
      close: async () => {
        admin.disconnect();
      },
    };
  },
});

import type { ConformanceCluster } from '@dotmac-ws/core/testkit';
import { runBackendConformance } from '@dotmac-ws/core/testkit';
import { RedisBackend } from '../src/index';
import { RedisProcess, redisBinariesMissing } from './redis-process';
import { adminConnection, numsub, SHARED_REDIS_URL, sharedRedisMissing, uniquePrefix } from './shared-redis';

const missing = await sharedRedisMissing();
const canStartRedis = (await redisBinariesMissing()) === false;

runBackendConformance({
  name: 'RedisBackend',
  skip: missing,
  brokerOutage: canStartRedis,
  createCluster: async ({ brokerControl }): Promise<ConformanceCluster> => {
    // The outage test stops its broker, so it gets a redis-server of its own; the rest share
    // the machine's Redis, kept apart by a key prefix of their own.
    const own = brokerControl ? await RedisProcess.start() : null;
    const url = own?.url ?? SHARED_REDIS_URL;
    const keyPrefix = uniquePrefix();
    const admin = adminConnection(url);
    return {
      createBackend: () => new RedisBackend({ url, keyPrefix }),
      subscriberCount: (topic) => numsub(admin, `${keyPrefix}${topic}`),
      stopBroker: own ? () => own.kill() : undefined,
      startBroker: own ? () => own.resume() : undefined,
      close: async () => {
        admin.disconnect();
      },
    };
  },
});

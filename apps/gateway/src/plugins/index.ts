import type { GatewayPlugin } from '../plugin';
import { authJwtPlugin } from './auth-jwt';
import { backendNatsPlugin } from './backend-nats';
import { backendRedisPlugin } from './backend-redis';
import { observabilityPlugin } from './observability';
import { ratelimitPlugin } from './ratelimit';

/** The packages the reference gateway is assembled from, in the order they are applied. */
export const PLUGINS: readonly GatewayPlugin[] = [
  // First: its logger and its message span then cover what the other plugins do.
  observabilityPlugin,
  authJwtPlugin,
  ratelimitPlugin,
  backendNatsPlugin,
  backendRedisPlugin,
];

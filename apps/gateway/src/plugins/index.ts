import type { GatewayPlugin } from '../plugin';
import { appBackendPlugin } from './app-backend';
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
  // Last: its middleware runs after the rate limiter's, so that a flood never reaches the application.
  appBackendPlugin,
];

import type { GatewayPlugin } from '../plugin';
import { authJwtPlugin } from './auth-jwt';
import { backendNatsPlugin } from './backend-nats';
import { ratelimitPlugin } from './ratelimit';

/** The packages the reference gateway is assembled from, in the order they are applied. */
export const PLUGINS: readonly GatewayPlugin[] = [authJwtPlugin, ratelimitPlugin, backendNatsPlugin];

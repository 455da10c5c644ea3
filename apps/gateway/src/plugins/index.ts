import type { GatewayPlugin } from '../plugin';

/** The packages the reference gateway is assembled from, in the order they are applied. */
export const PLUGINS: readonly GatewayPlugin[] = [];

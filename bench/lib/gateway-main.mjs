// Where the reference gateway's entry point is, and whether it keeps history and presence in
// NATS JetStream (its NATS plugin wires the NATS stores).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** `apps/gateway/dist/main.js` of the workspace's `@dotmac-ws/gateway`. */
export const GATEWAY_MAIN = join(
  dirname(require.resolve('@dotmac-ws/gateway/package.json')),
  'dist',
  'main.js',
);

/** The server definition `startServer` takes for the gateway. */
export const GATEWAY = {
  kind: 'gateway',
  label: 'gateway',
  dialect: 'dotmac',
  path: '/ws',
  script: GATEWAY_MAIN,
};

/** True once `BACKEND=nats` keeps history and presence in JetStream (NatsHistoryStore in the build). */
export const natsStores = () => readFileSync(GATEWAY_MAIN, 'utf8').includes('NatsHistoryStore');

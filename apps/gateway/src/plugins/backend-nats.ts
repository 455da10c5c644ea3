import { NatsBackend, NatsHistoryStore, NatsPresenceStore } from '@dotmac-ws/backend-nats';
import type { GatewayPlugin } from '../plugin';

/**
 * `@dotmac-ws/backend-nats`: `BACKEND=nats` connects the nodes through NATS (one server or a
 * cluster), with escaped subjects under `NATS_SUBJECT_PREFIX`.
 */
export const backendNatsPlugin: GatewayPlugin = {
  name: 'backend-nats',
  backendName: 'nats',
  env: [
    {
      name: 'NATS_URL',
      group: 'backend',
      kind: { type: 'list' },
      default: 'nats://127.0.0.1:4222',
      description:
        'With `BACKEND=nats`: comma-separated NATS servers (`nats://host:port`, `tls://host:port`); credentials go in NATS_USER/NATS_PASSWORD or NATS_TOKEN.',
    },
    {
      name: 'NATS_SUBJECT_PREFIX',
      group: 'backend',
      kind: {
        type: 'string',
        pattern: /^(?=.{1,128}$)[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
        hint: 'dot-separated tokens of A-Z a-z 0-9 _ - (1-128 characters)',
      },
      default: 'dotmac-ws',
      description: 'First tokens of every NATS subject, so that deployments can share one NATS.',
    },
    {
      name: 'NATS_USER',
      group: 'backend',
      kind: { type: 'string' },
      default: undefined,
      description: 'NATS user name (with NATS_PASSWORD).',
    },
    {
      name: 'NATS_PASSWORD',
      group: 'backend',
      kind: { type: 'string' },
      default: undefined,
      description: 'Password of NATS_USER.',
    },
    {
      name: 'NATS_TOKEN',
      group: 'backend',
      kind: { type: 'string' },
      default: undefined,
      description: 'NATS authentication token (instead of NATS_USER and NATS_PASSWORD).',
    },
  ],
  optionEnv: {
    servers: 'NATS_URL',
    subjectPrefix: 'NATS_SUBJECT_PREFIX',
    user: 'NATS_USER',
    password: 'NATS_PASSWORD',
    token: 'NATS_TOKEN',
  },
  setup(env, { logger }) {
    if (env.string('BACKEND') !== 'nats') return {};
    const nats = {
      servers: env.list('NATS_URL'),
      subjectPrefix: env.string('NATS_SUBJECT_PREFIX'),
      user: env.string('NATS_USER'),
      password: env.string('NATS_PASSWORD'),
      token: env.string('NATS_TOKEN'),
      logger,
    };
    // History in JetStream and presence in JetStream KV on the same servers (channels switch
    // them on in CHANNEL_RULES_FILE).
    return {
      backend: new NatsBackend(nats),
      options: { history: new NatsHistoryStore(nats), presence: new NatsPresenceStore(nats) },
    };
  },
};

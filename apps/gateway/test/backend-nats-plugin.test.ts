import { randomBytes } from 'node:crypto';
import { NatsBackend } from '@dotmac-ws/backend-nats';
import { onCleanup, SHARED_NATS, sharedServiceMissing, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { createGatewayFromEnv } from '../src/index';
import { BASE_ENV as BASE, problemsOf } from './helpers';

const natsUp = (await sharedServiceMissing(SHARED_NATS)) === false;

describe('backend-nats plugin', () => {
  it('builds a NatsBackend from BACKEND=nats and the NATS_* variables', () => {
    const { gateway } = createGatewayFromEnv({
      ...BASE,
      BACKEND: 'nats',
      NATS_URL: 'nats://n1:4222, tls://n2:4443',
      NATS_SUBJECT_PREFIX: 'chat.prod',
      NATS_USER: 'gw',
      NATS_PASSWORD: 'pw',
    });
    const backend = gateway.config.backend;
    expect(backend).toBeInstanceOf(NatsBackend);
    expect((backend as NatsBackend).subjectOf('channel:news')).toBe('chat.prod.chan.g.news');
  });

  it('reports bad NATS settings in the names of the variables', () => {
    expect(problemsOf({ BACKEND: 'nats', NATS_SUBJECT_PREFIX: 'a.*' })).toEqual([
      "NATS_SUBJECT_PREFIX is set as 'a.*' when it must be dot-separated tokens of A-Z a-z 0-9 _ - (1-128 characters)",
    ]);
    expect(
      problemsOf({
        BACKEND: 'nats',
        NATS_URL: 'nats://ok:4222,redis://x:1,nats://u:secret@h',
        NATS_USER: 'gw',
        NATS_TOKEN: 't',
      }),
    ).toEqual([
      "NATS_URL entry 2 has the scheme 'redis:' when it must be nats://host:port, tls://host:port, host:port or host",
      'NATS_URL entry 3 holds credentials: set NATS_USER and NATS_PASSWORD, or NATS_TOKEN, instead',
      'NATS_USER is set without NATS_PASSWORD',
      'NATS_TOKEN and NATS_USER are both set when only one way of authenticating may be',
    ]);
  });

  it.skipIf(!natsUp)('runs two reference gateways that deliver to each other over NATS', async () => {
    const env = {
      BACKEND: 'nats',
      NATS_SUBJECT_PREFIX: `dotmac-ws-test.gw-${randomBytes(4).toString('hex')}`,
    };
    const urls: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { gateway } = createGatewayFromEnv({ ...BASE, ...env });
      await gateway.start();
      onCleanup(() => gateway.stop());
      urls.push(`ws://127.0.0.1:${gateway.address()!.port}/ws`);
    }
    const [a, b] = await Promise.all(urls.map((u) => TestClient.open(u)));
    for (const c of [a!, b!]) {
      await c.welcome();
      expect(await c.request({ type: 'subscribe', channel: 'room.1' })).toMatchObject({ type: 'ack' });
    }
    a!.send({ type: 'publish', channel: 'room.1', data: { text: 'hi' } });
    expect(await b!.waitFor((f) => f.type === 'message', 3000, 'the message')).toEqual({
      type: 'message',
      channel: 'room.1',
      data: { text: 'hi' },
    });
  });
});

import { randomBytes } from 'node:crypto';
import {
  onCleanup,
  SHARED_REDIS,
  sharedServiceMissing,
  startProcess,
  TestClient,
} from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { emptyProject, heavyIn, installedPackages, npmInstall, pack, packCore, writeEsmAndCjs } from './pack';

// One gateway node on Redis, written as a user of the two published packages would. It prints
// its port, serves until SIGTERM, then drains and exits 0.
const NODE = `const gateway = new WebSocketGateway(createDevelopmentConfig({
  port: 0,
  host: '127.0.0.1',
  logger: silentLogger,
  backend: new RedisBackend({ url: 'redis://127.0.0.1:6379', keyPrefix: process.env.KEY_PREFIX }),
}));
process.on('SIGTERM', () => gateway.stop().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); }));
await gateway.start();
console.log(JSON.stringify({ port: gateway.address().port, health: await gateway.healthCheck() }));
`;

const redisMissing = await sharedServiceMissing(SHARED_REDIS);

describe.skipIf(redisMissing !== false)(
  `@dotmac-ws/core with @dotmac-ws/backend-redis installed with npm${redisMissing ? ` (skipped: ${redisMissing})` : ''}`,
  () => {
    it('two nodes in separate processes deliver through the real Redis, from import and from require', async () => {
      const project = emptyProject();
      onCleanup(project.dispose);
      npmInstall(project.dir, [...packCore(project.dir), 'ws']);
      expect(heavyIn(installedPackages(project.dir))).toEqual([]);
      // Then add only the Redis backend: it brings ioredis and nothing else that is heavy.
      npmInstall(project.dir, [pack('packages/backend-redis', project.dir)]);
      const installed = installedPackages(project.dir);
      expect(installed).toContain('@dotmac-ws/backend-redis');
      expect(heavyIn(installed)).toEqual(['ioredis']);

      const files = writeEsmAndCjs(
        project.dir,
        'node',
        {
          '@dotmac-ws/core': '{ WebSocketGateway, createDevelopmentConfig, silentLogger }',
          '@dotmac-ws/backend-redis': '{ RedisBackend }',
        },
        NODE,
      );

      for (const file of files) {
        const env = { KEY_PREFIX: `dotmac-consumer-${process.pid}-${randomBytes(4).toString('hex')}:` };
        const nodes = [0, 1].map(() => startProcess(process.execPath, [file], { cwd: project.dir, env }));
        const ports: number[] = [];
        for (const n of nodes) {
          const started = JSON.parse(await n.line((l) => l.startsWith('{"port"'))) as {
            port: number;
            health: { components: Record<string, { status: string }> };
          };
          expect(started.health.components.scaling_backend?.status, file).toBe('healthy');
          ports.push(started.port);
        }
        const [a, b] = await Promise.all(ports.map((p) => TestClient.open(`ws://127.0.0.1:${p}/ws`)));
        await Promise.all([a!.welcome(), b!.welcome()]);
        expect((await a!.request({ type: 'subscribe', data: { channel: 'news' } })).type).toBe('ack');
        expect((await b!.request({ type: 'publish', channel: 'news', data: { from: file } })).type).toBe(
          'ack',
        );
        const got = await a!.waitFor(
          (f) => f.channel === 'news',
          5000,
          'the message published on the other node',
        );
        expect(got.data).toEqual({ from: file });
        for (const n of nodes) expect(await n.stop(), n.output()).toBe(0);
      }
    });
  },
);

import { spawnSync } from 'node:child_process';
import { onCleanup, SHARED_NATS, sharedServiceMissing } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import {
  emptyProject,
  installedPackages,
  lastJsonLine,
  pack,
  packCore,
  runNode,
  writeEsmAndCjs,
} from './pack';

// One gateway node on the shared NATS, written as a user of the two published packages would;
// it prints the backend's health and stops.
const NODE = `const gateway = new WebSocketGateway(createDevelopmentConfig({
  port: 0,
  host: '127.0.0.1',
  logger: silentLogger,
  backend: new NatsBackend({ servers: 'nats://127.0.0.1:4222' }),
}));
await gateway.start();
const health = await gateway.healthCheck();
await gateway.stop();
console.log(JSON.stringify({ backend: health.components.scaling_backend?.status }));
`;

const natsMissing = await sharedServiceMissing(SHARED_NATS);

describe.skipIf(natsMissing !== false)(
  `@dotmac-ws/backend-nats installed with npm${natsMissing ? ` (skipped: ${natsMissing})` : ''}`,
  () => {
    it(`installs without a warning on this Node (${process.version}) and connects from import and from require`, async () => {
      const project = emptyProject();
      onCleanup(project.dispose);
      const tarballs = [...packCore(project.dir), pack('packages/backend-nats', project.dir)];
      // npm's default log level, as a user runs it: engine mismatches print `npm warn EBADENGINE`.
      const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', ...tarballs, 'ws'], {
        cwd: project.dir,
        encoding: 'utf8',
      });
      expect(npm.status, npm.stderr).toBe(0);
      expect(`${npm.stdout}${npm.stderr}`).not.toMatch(/EBADENGINE|npm warn/i);
      expect(installedPackages(project.dir)).toContain('@dotmac-ws/backend-nats');

      const files = writeEsmAndCjs(
        project.dir,
        'node',
        {
          '@dotmac-ws/core': '{ WebSocketGateway, createDevelopmentConfig, silentLogger }',
          '@dotmac-ws/backend-nats': '{ NatsBackend }',
        },
        NODE,
      );
      for (const file of files) {
        const r = await runNode(project.dir, file);
        expect(r.code, r.out).toBe(0);
        expect(lastJsonLine(r.out)).toEqual({ backend: 'healthy' });
      }
    });
  },
);

import { onCleanup } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import {
  emptyProject,
  heavyIn,
  installedPackages,
  lastJsonLine,
  npmInstall,
  packCore,
  runNode,
  writeEsmAndCjs,
} from './pack';

// A server and a plain-ws client, written as a user of the published package would.
const SERVER_AND_CLIENT = `const gateway = new WebSocketGateway(createDevelopmentConfig({ port: 0, host: '127.0.0.1', logger: silentLogger }));
await gateway.start();
const { port } = gateway.address();
const ws = new WebSocket('ws://127.0.0.1:' + port + '/ws');
const frames = [];
const done = new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('timeout: ' + JSON.stringify(frames))), 10000);
  ws.on('message', async (buf) => {
    const f = JSON.parse(buf.toString());
    frames.push(f);
    if (f.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', id: 1, data: { channel: 'news' } }));
    if (f.type === 'ack' && f.id === 1) await gateway.broadcastToChannel('news', 'headline', { ok: true });
    if (f.type === 'headline') { clearTimeout(timer); resolve(f); }
  });
});
const got = await done;
ws.close();
await gateway.stop();
console.log(JSON.stringify(got));
`;

describe('@dotmac-ws/core installed alone with npm', () => {
  it('serves a client from import and from require, and pulls in nothing heavy', async () => {
    const project = emptyProject();
    onCleanup(project.dispose);
    npmInstall(project.dir, [...packCore(project.dir), 'ws']);

    const installed = installedPackages(project.dir);
    expect(installed).toContain('@dotmac-ws/core');
    expect(installed).toContain('@dotmac-ws/protocol');
    expect(heavyIn(installed)).toEqual([]);

    const files = writeEsmAndCjs(
      project.dir,
      'server-and-client',
      { '@dotmac-ws/core': '{ WebSocketGateway, createDevelopmentConfig, silentLogger }', ws: 'WebSocket' },
      SERVER_AND_CLIENT,
    );
    for (const file of files) {
      const r = await runNode(project.dir, file);
      expect(r.code, r.out).toBe(0);
      expect(lastJsonLine(r.out)).toEqual({
        type: 'headline',
        channel: 'news',
        data: { ok: true },
      });
    }
  });
});

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { onCleanup } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { emptyProject, npmInstall, packCore } from './pack';

// What a user writes when embedding the gateway in a strict TypeScript project.
const SERVER = `import { createServer } from 'node:http';
import { CloseCode, ErrorCode, WebSocketGateway, createDevelopmentConfig, ProtocolError, type WebSocketSession } from '@dotmac-ws/core';

const server = createServer();
const gateway = new WebSocketGateway(createDevelopmentConfig({ server }));
gateway.addMessageHandler('echo', (session: WebSocketSession, data: unknown) => {
  if (data === null) throw new ProtocolError(ErrorCode.BadRequest, 'data is required');
  return { from: session.sessionId, data };
});
await gateway.start();
server.listen(0, '127.0.0.1');
const delivered: number = await gateway.broadcastToChannel('news', 'headline', { title: 'hello' });
const goingAway: 1001 = CloseCode.GoingAway;
console.log(delivered, goingAway, gateway.getStats().sessions.total);
await gateway.stop();
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    // The defaults a fresh `tsc --init` project has: library .d.ts files are checked too.
    skipLibCheck: false,
  },
  include: ['server.ts'],
};

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

describe('@dotmac-ws/core from a strict TypeScript project', () => {
  it('type-checks with nothing installed beside the package but ws', () => {
    const project = emptyProject();
    onCleanup(project.dispose);
    npmInstall(project.dir, [...packCore(project.dir), 'ws']);
    writeFileSync(
      join(project.dir, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }),
    );
    writeFileSync(join(project.dir, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    writeFileSync(join(project.dir, 'server.ts'), SERVER);
    let out = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project.dir, stdio: 'pipe' });
    } catch (error) {
      const e = error as { stdout?: Buffer; stderr?: Buffer };
      out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    expect(out).toBe('');
  });
});

import { join } from 'node:path';
import { startProcess, type TestProcess, waitUntil } from '@dotmac-ws/test-utils';
import { ROOT } from './deploy-files';

/** A reference gateway process (`node apps/gateway/dist/main.js`), stopped after the test. */
export interface GatewayNode {
  readonly proc: TestProcess;
  readonly port: number;
}

/** Starts the built reference gateway with `env` on 127.0.0.1:`port`; resolves once /ready answers 200. */
export async function startGateway(port: number, env: Record<string, string>): Promise<GatewayNode> {
  const proc = startProcess(process.execPath, [join(ROOT, 'apps/gateway/dist/main.js')], {
    env: { ...env, WS_HOST: '127.0.0.1', WS_PORT: String(port) },
  });
  await waitUntil(
    async () => {
      if (proc.child.exitCode !== null)
        throw new Error(`the gateway exited (${proc.child.exitCode}):\n${proc.output()}`);
      try {
        return (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200;
      } catch {
        return false;
      }
    },
    15_000,
    `the gateway on port ${port} to be ready`,
  );
  return { proc, port };
}

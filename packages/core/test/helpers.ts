import { onCleanup } from '@dotmac-ws/test-utils';
import { type GatewayOptions, silentLogger, WebSocketGateway } from '../src/index';

/** A started gateway on a free port, stopped after the test. */
export interface TestGateway {
  gw: WebSocketGateway;
  port: number;
  /** `ws://127.0.0.1:{port}/ws` */
  url: string;
  /** `http://127.0.0.1:{port}` */
  base: string;
}

export async function startTestGateway(options: GatewayOptions = {}): Promise<TestGateway> {
  const gw = new WebSocketGateway({ port: 0, host: '127.0.0.1', logger: silentLogger, ...options });
  await gw.start();
  onCleanup(() => gw.stop());
  const port = gw.address()!.port;
  return { gw, port, url: `ws://127.0.0.1:${port}/ws`, base: `http://127.0.0.1:${port}` };
}

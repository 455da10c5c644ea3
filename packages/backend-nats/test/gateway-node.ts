import { silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { TestClient as Client, onCleanup, type TestClient } from '@dotmac-ws/test-utils';
import { NatsBackend, type NatsBackendOptions } from '../src/index';

/** A gateway on port 0 over a new NatsBackend; stopped after the test. */
export async function startNode(
  options: NatsBackendOptions,
): Promise<{ gateway: WebSocketGateway; backend: NatsBackend }> {
  const backend = new NatsBackend(options);
  const gateway = new WebSocketGateway({
    port: 0,
    host: '127.0.0.1',
    backend,
    logger: silentLogger,
    clientPublish: true,
    drainTimeoutMs: 0,
  });
  await gateway.start();
  onCleanup(() => gateway.stop());
  return { gateway, backend };
}

/** A client of `gateway` subscribed to `channel` (closed after the test). */
export async function subscriber(gateway: WebSocketGateway, channel: string): Promise<TestClient> {
  const client = await Client.open(`ws://127.0.0.1:${gateway.address()!.port}/ws`);
  await client.welcome();
  const reply = await client.request({ type: 'subscribe', channel });
  if (reply.type !== 'ack') throw new Error(`subscribe ${channel} was refused: ${JSON.stringify(reply)}`);
  return client;
}

/** The `data.seq` of every frame of `type` a client received, in order. */
export function seqs(client: TestClient, type: string): number[] {
  return client.frames.filter((f) => f.type === type).map((f) => (f.data as { seq: number }).seq);
}

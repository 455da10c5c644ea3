import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from '@dotmac-ws/test-utils';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NatsProcess } from './nats-process';

/** Deletes these streams (a KV bucket is the stream `KV_<bucket>`) from the NATS at `url`; missing ones are fine. */
export async function deleteStreams(url: string, streams: readonly string[]): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 2000 });
    for (const name of streams) await jsm.streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
}

/** A `nats-server -js` of the test's own on free ports, storing in a temporary directory removed after the test. */
export async function startJetStreamServer(): Promise<NatsProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'dotmac-nats-js-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return NatsProcess.start(['-js', '-sd', dir]);
}

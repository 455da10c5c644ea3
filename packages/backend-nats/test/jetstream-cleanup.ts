import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from '@dotmac-ws/test-utils';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NatsProcess } from './nats-process';
import { SHARED_NATS_URL, uniquePrefix } from './shared-nats';

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

/** The broker side of one store conformance test (history or presence). */
export interface StoreCluster<S> {
  createStore(): S;
  close?(): Promise<void>;
  stopBroker?(): Promise<void>;
  startBroker?(): Promise<void>;
}

/** How a store of a test is made on `url` under `subjectPrefix`, and the streams it creates. */
export interface StoreMaker<S> {
  make(url: string, subjectPrefix: string): S;
  streams(store: S): string[];
}

/**
 * Store clusters of the conformance suites: on the shared NATS (a subject prefix, so a stream
 * or bucket, per test, deleted after it), or (`brokerControl`) on a `nats-server -js` of the
 * test's own, which is killed and started again on the same storage directory for the outage.
 */
export async function storeCluster<S>(
  maker: StoreMaker<S>,
  brokerControl: boolean,
): Promise<StoreCluster<S>> {
  const subjectPrefix = uniquePrefix();
  if (!brokerControl) {
    return {
      createStore: () => maker.make(SHARED_NATS_URL, subjectPrefix),
      close: () => deleteStreams(SHARED_NATS_URL, maker.streams(maker.make(SHARED_NATS_URL, subjectPrefix))),
    };
  }
  const server = await startJetStreamServer();
  // Its streams go with it (killed and its directory removed after the test).
  return {
    createStore: () => maker.make(server.url, subjectPrefix),
    stopBroker: () => server.kill(),
    startBroker: () => server.resume(),
  };
}

// The fan-out measurement every fan-out section shares: 2,000 subscribers at saturation, then
// at a fixed rate, through @dotmac-ws/loadtest, with the servers' CPU time per delivery over
// the measured phase (and the store's per published message when a store process is given).
import { runLoad } from '@dotmac-ws/loadtest';
import { check, usPer } from './summary.mjs';

/**
 * Runs the saturation and fixed-rate loads. `urls`: where subscribers connect (spread in
 * turn); `publishUrls`: where the publisher does; `serverPids`: the gateways whose CPU is
 * summed per delivery; `storePid`: a Redis/NATS server measured per published message.
 */
export async function fanoutRuns(o) {
  const pids = o.storePid ? [...o.serverPids, o.storePid] : [...o.serverPids];
  const common = {
    urls: o.urls,
    publishUrls: o.publishUrls ?? o.urls,
    dialect: o.dialect ?? 'dotmac',
    scenario: o.urls.length > 1 ? 'multi-node' : 'fanout',
    channels: 1,
    payloadBytes: 100,
    drainMs: 5000,
    connectConcurrency: 256,
    connectTimeoutMs: 20_000,
    connections: o.subscribers,
    durationSec: o.durationSec,
    serverPids: pids,
  };
  const sat = await runLoad({ ...common, rate: 0, window: 32 });
  const fixed = await runLoad({ ...common, rate: o.fixedRate });
  const gatewayCpu = (r) => r.servers.slice(0, o.serverPids.length).reduce((s, x) => s + x.cpuMs, 0);
  const storeCpu = (r) => (o.storePid ? (r.servers[o.serverPids.length]?.cpuMs ?? 0) : null);
  return {
    satPerSec: sat.messages.perSec,
    satCpuUs: usPer(gatewayCpu(sat), sat.messages.received),
    satDeliveries: sat.messages.received,
    satPublished: sat.messages.sent,
    satPublishPerSec: Math.round((sat.messages.sent * 1000) / Math.max(1, sat.elapsedMs)),
    satRunnerUs: sat.runner.cpuUsPerDelivery,
    satRunnerBusy: sat.runner.cpuMs / Math.max(1, sat.elapsedMs),
    satStoreUsPerPublish: o.storePid ? usPer(storeCpu(sat), sat.messages.sent) : null,
    fixedP50: fixed.latencyMs.p50,
    fixedP99: fixed.latencyMs.p99,
    fixedCpuUs: usPer(gatewayCpu(fixed), fixed.messages.received),
    correctness: [check(`${o.label} saturation`, sat), check(`${o.label} fixed`, fixed)],
  };
}

// Fan-out with history off vs on (issue 15): the 2,000-subscriber fan-out of the peer
// comparison against the reference gateway with a rules file, without and with
// `history_size` on the channel; memory on one node, Redis and NATS on two (subscribers split,
// publisher on the second node, as the cross-node section does) with the bench's own store.
import { fanoutRuns } from './fanout-runs.mjs';
import { rulesEnv } from './rules-file.mjs';
import { startStore } from './store-process.mjs';
import { withServerState } from './summary.mjs';

/**
 * One measurement of `backend` (`memory`, `redis`, `nats`) with history `on` or off. `ctx`:
 * `{ pinning, startGateway(env), subscribers, durationSec, fixedRate, historySize }`.
 */
export async function historyRun(ctx, backend, on) {
  const store = backend === 'memory' ? null : await startStore(backend, { pinning: ctx.pinning });
  const gateways = [];
  try {
    const options = on ? { history_size: ctx.historySize, history_ttl_ms: 300_000 } : {};
    const env = { ...(store?.env ?? {}), ...rulesEnv(options) };
    const nodes = backend === 'memory' ? 1 : 2;
    for (let n = 0; n < nodes; n++) gateways.push(await ctx.startGateway(env));
    return await withServerState(gateways, () =>
      fanoutRuns({
        label: `${backend} history ${on ? 'on' : 'off'}`,
        urls: gateways.map((g) => g.url),
        publishUrls: [gateways.at(-1).url],
        serverPids: gateways.map((g) => g.pid),
        storePid: store?.pid,
        subscribers: ctx.subscribers,
        durationSec: ctx.durationSec,
        fixedRate: ctx.fixedRate,
      }),
    );
  } finally {
    for (const g of gateways) await g.stop();
    await store?.stop();
  }
}

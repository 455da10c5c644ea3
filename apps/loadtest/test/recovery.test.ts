import {
  type ChannelPolicy,
  type GatewayOptions,
  MemoryBackend,
  MemoryBus,
  MemoryHistoryStore,
  silentLogger,
  WebSocketGateway,
} from '@dotmac-ws/core';
import { onCleanup } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import {
  type LoadOptions,
  LoadtestOptionsError,
  LoadtestRunError,
  runLoad,
  summaryTable,
} from '../src/index';
import { EXACTLY_ONCE_FLAGS, runCliJson } from './helpers';

/** Every channel keeps 1000 publications for 5 minutes; anyone may subscribe and publish. */
const withHistory: ChannelPolicy = {
  canSubscribe: () => true,
  canPublish: () => true,
  options: () => ({ historySize: 1000, historyTtlMs: 300_000 }),
};

/** `count` gateway nodes of one cluster: one bus, one history store. */
async function cluster(count: number, options: GatewayOptions = {}): Promise<string[]> {
  const bus = new MemoryBus();
  const history = new MemoryHistoryStore();
  const urls: string[] = [];
  for (let k = 0; k < count; k++) {
    const gw = new WebSocketGateway({
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger,
      nodeId: `n${k}`,
      backend: new MemoryBackend({ bus }),
      history,
      channelPolicy: withHistory,
      ...options,
    });
    await gw.start();
    onCleanup(() => gw.stop());
    urls.push(`ws://127.0.0.1:${gw.address()!.port}/ws`);
  }
  return urls;
}

const strict: LoadOptions = { maxLoss: 0, maxDuplicates: 0, maxOutOfOrder: 0, maxErrors: 0 };

describe('recovery scenario', () => {
  it('drops half the subscriber sockets of two nodes; every message arrives once, in order', async () => {
    const urls = await cluster(2);
    const r = await runLoad({
      ...strict,
      scenario: 'recovery',
      urls,
      connections: 40,
      channels: 4,
      publishers: 2,
      rate: 200,
      durationSec: 2,
      disruptAtSec: 1,
      dropConnections: 0.5,
      drainMs: 3000,
      maxRecoveryMs: 5000,
    });
    expect(r.scenario).toBe('recovery');
    expect(r.settings).toMatchObject({ publishUrls: [urls[1]], dropConnections: 0.5, disruptAtSec: 1 });
    expect(r.messages.sent).toBeGreaterThanOrEqual(300);
    // 4 channels, 10 subscribers each: every message is owed to 10.
    expect(r.messages.expected).toBe(r.messages.sent * 10);
    expect(r.messages).toMatchObject({
      received: r.messages.expected,
      lost: 0,
      duplicates: 0,
      outOfOrder: 0,
    });
    const v = r.recovery!;
    expect(v).toMatchObject({
      killed: [],
      dropped: 20,
      affected: 20,
      outages: 20,
      recovered: 20,
      resynced: 0,
      unrecovered: 0,
      attemptFailures: {},
      droppedByOffset: 0,
    });
    expect(v.attempts).toBe(20);
    expect(v.disruptedAtSec).toBeGreaterThanOrEqual(1);
    expect(v.disruptedAtSec).toBeLessThan(1.5);
    // Messages published while the 20 were away came back in their recovering acks.
    expect(v.recoveredPublications).toBeGreaterThan(0);
    expect(v.recoveryMs.count).toBe(20);
    expect(v.recoveryMs.max).toBeGreaterThan(0);
    // The same time, exact and as the histogram (3 significant digits) holds it.
    expect(Math.abs(v.allRecoveredMs! - v.recoveryMs.max)).toBeLessThanOrEqual(
      v.recoveryMs.max / 1000 + 0.001,
    );
    // The reconnections went to the other node: both served subscribers to the end.
    expect(r.byUrl.map((u) => u.url)).toEqual(urls);
    expect(r.byUrl[0]!.received + r.byUrl[1]!.received).toBe(r.messages.received);
    expect(r.connections).toMatchObject({ ready: 42, failures: {} });
    expect(r.errors).toEqual({});
    expect(r.slo).toMatchObject({ passed: true });
    expect(r.slo.checks.map((c) => c.name)).toEqual([
      'lost',
      'duplicates',
      'out_of_order',
      'errors',
      'recovery_ms',
      'unrecovered',
    ]);
    const table = summaryTable(r);
    expect(table).toMatch(/disruption\s+at 1(\.\d+)? s: dropped 20 sockets/);
    expect(table).toMatch(
      /recovery\s+20 subscribers affected, 20 outages: recovered 20 {2}resynced 0 {2}unrecovered 0 {2}\(20 attempts, failed none\)/,
    );
    expect(table).toMatch(
      /recovery ms\s+p50 [\d.]+ .* \(20 samples\) {2}-> {2}all recovered after [\d.]+ ms/,
    );
  });

  it('runs from the CLI with the subscribers in worker threads, all of them dropped', async () => {
    const urls = await cluster(2);
    const r = await runCliJson([
      'recovery',
      '--url',
      urls.join(','),
      '--connections',
      '30',
      '--rate',
      '100',
      '--duration',
      '1.5',
      '--drop-connections',
      '1',
      '--workers',
      '2',
      '--drain-ms',
      '3000',
      '--max-recovery-ms',
      '5000',
      ...EXACTLY_ONCE_FLAGS,
    ]);
    expect(r.settings).toMatchObject({ workers: 2, disruptAtSec: 0.75 });
    expect(r.messages).toMatchObject({
      received: r.messages.sent * 30,
      lost: 0,
      duplicates: 0,
      outOfOrder: 0,
    });
    expect(r.recovery).toMatchObject({
      dropped: 30,
      affected: 30,
      recovered: 30,
      resynced: 0,
      unrecovered: 0,
    });
    expect(r.recovery!.recoveryMs.count).toBe(30);
    expect(r.slo).toMatchObject({ passed: true });
  });

  it('counts a resync when the history no longer covers the outage, and the messages it lost', async () => {
    // One publication kept, one sent every 10 ms, subscribers away for a random 0-2 s: a
    // subscriber recovers only if it came back within about 10 ms (odds of 1 in 200 each).
    const urls = await cluster(2, { channelPolicy: { ...withHistory, options: () => ({ historySize: 1 }) } });
    const r = await runLoad({
      scenario: 'recovery',
      urls,
      connections: 10,
      rate: 100,
      durationSec: 2,
      disruptAtSec: 0.5,
      dropConnections: 1,
      reconnectDelayMs: 2000,
      reconnectMaxDelayMs: 2000,
      drainMs: 2500,
      maxRecoveryMs: 5000,
      maxLoss: 0,
    });
    const v = r.recovery!;
    expect(v).toMatchObject({ dropped: 10, affected: 10, outages: 10, unrecovered: 0, droppedByOffset: 0 });
    expect(v.recovered + v.resynced).toBe(10);
    expect(v.resynced).toBeGreaterThanOrEqual(1);
    // A resynced subscriber missed more than the one kept: at least two messages each.
    expect(r.messages.lost).toBeGreaterThanOrEqual(2 * v.resynced);
    expect(r.messages).toMatchObject({ duplicates: 0, outOfOrder: 0 });
    expect(r.slo).toMatchObject({ passed: false });
    expect(r.slo.checks.find((c) => c.name === 'lost')).toMatchObject({ ok: false });
    expect(r.slo.checks.find((c) => c.name === 'unrecovered')).toMatchObject({ actual: 0, ok: true });
  });

  it('refuses a run on channels without history, naming the cause', async () => {
    const gw = new WebSocketGateway({
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger,
      clientPublish: true,
    });
    await gw.start();
    onCleanup(() => gw.stop());
    const url = `ws://127.0.0.1:${gw.address()!.port}/ws`;
    const run = runLoad({
      scenario: 'recovery',
      urls: [url],
      connections: 2,
      durationSec: 1,
      dropConnections: 1,
    });
    await expect(run).rejects.toBeInstanceOf(LoadtestRunError);
    await expect(run).rejects.toMatchObject({
      code: 'no_history',
      message: `the subscribe acks of ${url} carry no position: the recovery scenario needs history on its channels (load-0…), e.g. a channel rule with history_size above 0`,
    });
  });

  it('refuses the socket.io dialect, a run without disruption and one disrupted after its end', async () => {
    let problems: readonly string[] = [];
    try {
      await runLoad({ scenario: 'recovery', dialect: 'socket.io', durationSec: 2, disruptAtSec: 3 });
    } catch (error) {
      expect(error).toBeInstanceOf(LoadtestOptionsError);
      problems = (error as LoadtestOptionsError).problems;
    }
    expect(problems).toEqual([
      "scenario recovery needs dialect 'dotmac' (not 'socket.io'): Socket.IO has no channel offsets to recover from",
      'scenario recovery needs a disruption: killPids (--kill-pid) or dropConnections above 0',
      'disruptAtSec is 3 when it must be below durationSec (2): the disruption happens while messages flow',
    ]);
  });
});

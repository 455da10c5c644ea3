import { describe, expect, it } from 'vitest';
import { LoadtestOptionsError, resolveLoadOptions } from '../src/index';

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LoadtestOptionsError);
    expect((error as LoadtestOptionsError).code).toBe('invalid_options');
    return (error as LoadtestOptionsError).problems;
  }
  throw new Error('expected a LoadtestOptionsError');
}

describe('resolveLoadOptions', () => {
  it('applies the documented defaults', () => {
    const o = resolveLoadOptions();
    expect(o).toMatchObject({
      scenario: 'fanout',
      urls: ['ws://127.0.0.1:8765/ws'],
      publishUrls: ['ws://127.0.0.1:8765/ws'],
      dialect: 'dotmac',
      connections: 100,
      channels: 1,
      publishers: 1,
      rate: 100,
      payloadBytes: 100,
      durationSec: 10,
      window: 32,
      sourceAddresses: 1,
      workers: 0,
      tokenVia: 'query',
    });
    expect(o.slo.maxP99Ms).toBeNull();
  });

  it('reports every problem of a bad set of options at once, naming each', () => {
    const problems = problemsOf(() =>
      resolveLoadOptions({
        scenario: 'storm' as never,
        connections: 0,
        rate: -5,
        payloadBytes: 10,
        urls: ['http://x/ws'],
        token: 't',
        jwtSecret: 's',
        workers: 1.5,
      }),
    );
    expect(problems).toEqual([
      "scenario is 'storm' when it must be one of 'fanout', 'echo', 'connect', 'churn', 'multi-node', 'recovery'",
      "urls holds 'http://x/ws' when each must be a ws:// or wss:// URL",
      'connections is 0 when it must be from 1 to 1000000',
      'payloadBytes is 10 when it must be from 48 to 1048576',
      'token and jwtSecret are both set: give one',
      'rate is -5 when it must be from 0 to 10000000',
      'workers is 1.5 when it must be an integer from 0 to 64',
    ]);
  });

  it('needs two different URLs for multi-node and puts publishers on the last one', () => {
    expect(
      problemsOf(() => resolveLoadOptions({ scenario: 'multi-node', urls: ['ws://127.0.0.1:1/ws'] })),
    ).toEqual(['scenario multi-node needs at least two different URLs (urls and publishUrls together)']);
    const o = resolveLoadOptions({
      scenario: 'multi-node',
      urls: ['ws://127.0.0.1:1/ws', 'ws://127.0.0.1:2/ws'],
    });
    expect(o.publishUrls).toEqual(['ws://127.0.0.1:2/ws']);
  });

  it('spreads source addresses only over loopback targets, one per 20,000 connections by default', () => {
    expect(resolveLoadOptions({ connections: 50_000 }).sourceAddresses).toBe(3);
    expect(resolveLoadOptions({ connections: 50_000, urls: ['ws://example.com/ws'] }).sourceAddresses).toBe(
      1,
    );
    expect(
      problemsOf(() => resolveLoadOptions({ sourceAddresses: 4, urls: ['ws://example.com/ws'] })),
    ).toEqual(['sourceAddresses above 1 needs every URL on a loopback host (127.x.x.x or localhost)']);
  });

  it('reads maxLoss as a count or a percentage', () => {
    expect(resolveLoadOptions({ maxLoss: 3 }).slo).toMatchObject({ maxLossCount: 3, maxLossRatio: null });
    expect(resolveLoadOptions({ maxLoss: '0.5%' }).slo).toMatchObject({
      maxLossCount: null,
      maxLossRatio: 0.005,
    });
    expect(problemsOf(() => resolveLoadOptions({ maxLoss: '150%' }))).toEqual([
      "maxLoss is '150%' when a percentage must be at most 100%",
    ]);
  });

  it('resolves the recovery settings: publishers on the last URL, the disruption half way', () => {
    const o = resolveLoadOptions({
      scenario: 'recovery',
      urls: ['ws://127.0.0.1:1/ws', 'ws://127.0.0.1:2/ws'],
      durationSec: 8,
      killPids: [4321],
    });
    expect(o).toMatchObject({
      publishUrls: ['ws://127.0.0.1:2/ws'],
      killPids: [4321],
      dropConnections: 0,
      disruptAtSec: 4,
      reconnectDelayMs: 100,
      reconnectMaxDelayMs: 2000,
      recoveryTimeoutMs: 15000,
    });
    expect(o.slo.maxRecoveryMs).toBeNull();
    expect(
      resolveLoadOptions({ scenario: 'recovery', dropConnections: 0.25, disruptAtSec: 1 }),
    ).toMatchObject({
      dropConnections: 0.25,
      disruptAtSec: 1,
    });
    expect(
      problemsOf(() =>
        resolveLoadOptions({
          scenario: 'recovery',
          rate: 0,
          dropConnections: 1.5,
          killPids: [0],
          reconnectDelayMs: 500,
          reconnectMaxDelayMs: 100,
          maxRecoveryMs: -1,
        }),
      ),
    ).toEqual([
      'killPids holds 0 when each must be a process id',
      'maxRecoveryMs is -1 when it must be from 0 to 9007199254740991',
      'dropConnections is 1.5 when it must be from 0 to 1',
      'scenario recovery needs a fixed rate (rate above 0): recovering subscribers cannot pace publishers',
      'reconnectMaxDelayMs is 100 when it must be at least reconnectDelayMs (500)',
    ]);
  });

  it('refuses churn without a fixed rate', () => {
    expect(problemsOf(() => resolveLoadOptions({ scenario: 'churn', rate: 0 }))).toEqual([
      'scenario churn needs a fixed rate (rate above 0): churning subscribers cannot pace publishers',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { FLAGS, helpText, LoadtestOptionsError, parseCliArgs } from '../src/index';

describe('parseCliArgs', () => {
  it('reads the scenario, lists, numbers, JSON and output flags', () => {
    const r = parseCliArgs([
      'multi-node',
      '--url',
      'ws://127.0.0.1:1/ws,ws://127.0.0.1:2/ws',
      '--url',
      'ws://127.0.0.1:3/ws',
      '--connections',
      '2000',
      '--rate',
      '0',
      '--duration',
      '2.5',
      '--jwt-claims',
      '{"tenant_id":"acme"}',
      '--source-addresses',
      '4',
      '--server-pid',
      '12,13',
      '--max-loss',
      '0',
      '--max-p99-ms',
      '25',
      '--json',
      '--html',
      'r.html',
    ]);
    expect(r.options).toEqual({
      scenario: 'multi-node',
      urls: ['ws://127.0.0.1:1/ws', 'ws://127.0.0.1:2/ws', 'ws://127.0.0.1:3/ws'],
      connections: 2000,
      rate: 0,
      durationSec: 2.5,
      jwtClaims: { tenant_id: 'acme' },
      sourceAddresses: 4,
      serverPids: [12, 13],
      maxLoss: '0',
      maxP99Ms: 25,
    });
    expect(r).toMatchObject({ json: true, html: 'r.html', quiet: false, help: false });
  });

  it('reads the disruption flags of the recovery scenario', () => {
    const r = parseCliArgs([
      'recovery',
      '--kill-pid',
      '101,102',
      '--drop-connections',
      '0.5',
      '--disrupt-at-sec',
      '2.5',
      '--reconnect-delay-ms',
      '50',
      '--reconnect-max-delay-ms',
      '800',
      '--recovery-timeout-ms',
      '4000',
      '--max-recovery-ms',
      '1500',
    ]);
    expect(r.options).toEqual({
      scenario: 'recovery',
      killPids: [101, 102],
      dropConnections: 0.5,
      disruptAtSec: 2.5,
      reconnectDelayMs: 50,
      reconnectMaxDelayMs: 800,
      recoveryTimeoutMs: 4000,
      maxRecoveryMs: 1500,
    });
  });

  it('lists every bad value in one error', () => {
    let error: unknown;
    try {
      parseCliArgs(['--connections', 'many', '--jwt-claims', '{nope', 'fanout', 'extra']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LoadtestOptionsError);
    expect((error as LoadtestOptionsError).problems).toEqual([
      'unexpected arguments: extra',
      "--connections is 'many' when it must be a number",
      '--jwt-claims is not JSON: {nope',
    ]);
  });

  it('refuses an unknown flag', () => {
    expect(() => parseCliArgs(['--conections', '5'])).toThrow("Unknown option '--conections'");
  });

  it('documents every flag in --help', () => {
    const help = helpText('1.2.3');
    for (const f of FLAGS) expect(help).toContain(`--${f.name}`);
    for (const s of ['fanout', 'echo', 'connect', 'churn', 'multi-node', 'recovery'])
      expect(help).toMatch(new RegExp(`^  ${s} `, 'm'));
    expect(help).toContain('Exit codes: 0');
  });
});

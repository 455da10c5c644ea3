import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../src/index';
import { EXACTLY_ONCE_FLAGS, runCli, runCliJson, startReferenceGateway } from './helpers';

// The CI smoke run: the built CLI against the reference gateway (`node apps/gateway/dist/main.js`).
describe('dotmac-loadtest against the reference gateway', () => {
  it('fans 300 connections out for 3 s with no message lost, duplicated or out of order', async () => {
    const gw = await startReferenceGateway();
    const run = await runCli([
      'fanout',
      '--url',
      gw.url,
      '--connections',
      '300',
      '--rate',
      '100',
      '--duration',
      '3',
      '--server-pid',
      String(gw.pid),
      ...EXACTLY_ONCE_FLAGS,
      '--max-errors',
      '0',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout) as LoadResult;
    expect(r.connections).toMatchObject({ planned: 301, ready: 301, failures: {} });
    expect(r.messages.sent).toBeGreaterThanOrEqual(250);
    expect(r.messages.expected).toBe(r.messages.sent * 300);
    expect(r.messages).toMatchObject({
      received: r.messages.expected,
      lost: 0,
      duplicates: 0,
      outOfOrder: 0,
    });
    expect(r.latencyMs.count).toBe(r.messages.received);
    expect(r.latencyMs.p50).toBeGreaterThan(0);
    expect(r.servers).toHaveLength(1);
    expect(r.servers[0]!.cpuMs).toBeGreaterThan(0);
    expect(r.runner.cpuMs).toBeGreaterThan(0);
    expect(r.runner.cpuUsPerDelivery).toBeCloseTo((r.runner.cpuMs * 1000) / r.messages.received, 0);
    expect(r.slo).toMatchObject({ passed: true });
    expect(r.slo.checks.map((c) => c.name)).toEqual(['lost', 'duplicates', 'out_of_order', 'errors']);
  });

  it('holds connections in worker threads and paces publishers by what the subscribers received', async () => {
    const gw = await startReferenceGateway();
    const run = await runCli([
      '--url',
      gw.url,
      '--connections',
      '200',
      '--rate',
      '0',
      '--duration',
      '2',
      '--workers',
      '2',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout) as LoadResult;
    expect(r.connections.ready).toBe(201);
    expect(r.messages.received).toBeGreaterThan(0);
    expect(r.messages).toMatchObject({ received: r.messages.expected, lost: 0, duplicates: 0 });
  });

  it('signs one JWT per connection for a gateway that requires tokens, and counts refusals by status', async () => {
    const secret = 'loadtest-secret-of-at-least-32-bytes!';
    const gw = await startReferenceGateway({ JWT_SECRET_KEY: secret, REQUIRE_TOKEN: 'true' });
    const good = await runCliJson([
      'connect',
      '--url',
      gw.url,
      '--connections',
      '60',
      '--jwt-secret',
      secret,
      '--token-via',
      'header',
      '--max-errors',
      '0',
    ]);
    expect(good.connections).toMatchObject({ ready: 60, failures: {} });
    expect(good.connections.perSec).toBeGreaterThan(0);
    expect(good.latencyMs.count).toBe(60);

    const bad = await runCli([
      'connect',
      '--url',
      gw.url,
      '--connections',
      '20',
      '--jwt-secret',
      'another-secret-of-at-least-32-bytes',
      '--max-errors',
      '0',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/failed http_401 20/);
    expect(bad.stdout).toMatch(/slo\s+FAIL: errors 20 <= 0 MISSED/);
  });

  it('exits 1 when an SLO is missed and writes a self-contained HTML report', async () => {
    const gw = await startReferenceGateway();
    const html = join(mkdtempSync(join(tmpdir(), 'loadtest-')), 'report.html');
    const run = await runCli([
      'echo',
      '--url',
      gw.url,
      '--connections',
      '10',
      '--rate',
      '0',
      '--duration',
      '1',
      '--max-p50-ms',
      '0.0001',
      '--html',
      html,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/slo\s+FAIL: p50_ms [\d.]+ <= 0.0001 MISSED/);
    const page = readFileSync(html, 'utf8');
    expect(page.match(/<svg /g)).toHaveLength(3);
    expect(page).not.toMatch(/<script|\ssrc=|\shref=|<link/);
    expect(page).toContain('round trip percentiles over time');
  });

  it('exits 3 when no connection can be opened, and 2 on bad options', async () => {
    const port = await freePort();
    const none = await runCli([
      '--url',
      `ws://127.0.0.1:${port}/ws`,
      '--connections',
      '3',
      '--duration',
      '1',
    ]);
    expect(none.code).toBe(3);
    expect(none.stderr).toBe(`dotmac-loadtest: no connection to ws://127.0.0.1:${port}/ws became ready\n`);
    const bad = await runCli(['--connections', '0', '--window', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--window is 'x' when it must be a number");
  });

  it('documents its options with --help', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: dotmac-loadtest [scenario] [options]');
    expect(run.stdout).toContain('--max-p99-ms MS');
  });
});

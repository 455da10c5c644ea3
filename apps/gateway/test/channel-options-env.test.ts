import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { problemsOf, startApp } from './helpers';

/** The rules file of protocol.md's example, written to a temporary file. */
function rulesFile(rules: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'dotmac-rules-'));
  const file = join(dir, 'rules.json');
  writeFileSync(file, JSON.stringify(rules));
  return file;
}

describe('channel options from CHANNEL_RULES_FILE (protocol.md v1.1)', () => {
  it('turns on history, recovery and presence per pattern', async () => {
    const file = rulesFile([
      {
        pattern: 'room:*',
        subscribe: true,
        publish: true,
        history_size: 100,
        history_ttl_ms: 300000,
        recovery: 'stream',
        presence: true,
        join_leave: true,
      },
    ]);
    const { url } = await startApp({ CHANNEL_RULES_FILE: file, PRESENCE_TTL_MS: '5000' });
    const a = await TestClient.open(url);
    const w = await a.welcome();
    expect((w.data as { features: string[] }).features).toEqual(['history', 'recovery', 'presence']);
    const sub = await a.request({ type: 'subscribe', data: { channel: 'room:1' } });
    expect(sub.data).toEqual({ channel: 'room:1', subscribers: 1, offset: 0, epoch: expect.any(String) });
    expect((await a.request({ type: 'publish', channel: 'room:1', data: 'hi' })).data).toEqual({
      channel: 'room:1',
      offset: 1,
    });
    const b = await TestClient.open(url);
    await b.welcome();
    const epoch = (sub.data as { epoch: string }).epoch;
    const rec = await b.request({
      type: 'subscribe',
      data: { channel: 'room:1', since: { offset: 0, epoch } },
    });
    expect(rec.data).toEqual({
      channel: 'room:1',
      subscribers: 2,
      offset: 1,
      epoch,
      recovered: true,
      publications: [{ type: 'message', data: 'hi', offset: 1 }],
    });
    const stats = await b.request({ type: 'presence_stats', data: { channel: 'room:1' } });
    expect(stats.data).toEqual({ channel: 'room:1', num_clients: 2, num_users: 2 });
  });

  it('names bad channel options and presence settings in env terms', () => {
    const file = rulesFile([{ pattern: 'room:*', history_size: 'lots', join_leave: true }]);
    expect(problemsOf({ PRESENCE_TTL_MS: '5', PRESENCE_GRACE_MS: '-1' })).toEqual([
      "PRESENCE_TTL_MS is set as '5' when it must be an integer from 100 to 86400000",
      "PRESENCE_GRACE_MS is set as '-1' when it must be an integer from 0 to 3600000",
    ]);
    expect(problemsOf({ CHANNEL_RULES_FILE: file })).toEqual([
      `CHANNEL_RULES_FILE '${file}': rules[0].history_size must be an integer >= 0 (got "lots")`,
      `CHANNEL_RULES_FILE '${file}': rules[0].join_leave needs presence: true`,
    ]);
  });
});

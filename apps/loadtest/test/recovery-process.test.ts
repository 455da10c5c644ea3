import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_REDIS, sharedServiceMissing } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { EXACTLY_ONCE_FLAGS, runCliJson, startReferenceGateway } from './helpers';

const missing = await sharedServiceMissing(SHARED_REDIS);

/** A `CHANNEL_RULES_FILE` that keeps 1000 publications of every channel for 5 minutes. */
function historyRules(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'loadtest-rules-')), 'rules.json');
  const rules = [
    { pattern: '*', subscribe: true, publish: true, history_size: 1000, history_ttl_ms: 300_000 },
  ];
  writeFileSync(file, JSON.stringify(rules));
  return file;
}

describe.skipIf(missing !== false)(`recovery from a killed gateway process ${missing || ''}`, () => {
  it('kills one of two reference gateways on Redis: its subscribers recover on the other, nothing lost', async () => {
    const env = {
      BACKEND: 'redis',
      REDIS_URL: `redis://${SHARED_REDIS.host}:${SHARED_REDIS.port}`,
      REDIS_KEY_PREFIX: `loadtest-${randomUUID()}:`,
      CHANNEL_RULES_FILE: historyRules(),
      LOG_LEVEL: 'silent',
    };
    const [a, b] = await Promise.all([startReferenceGateway(env), startReferenceGateway(env)]);
    // Subscriber i joins channel i mod 7 on node i mod 2: each channel has seven subscribers on
    // each node, so the killed node's seven of each channel recover at once, with the same
    // position (their history reads are merged: none may lose what came in between).
    const r = await runCliJson([
      'recovery',
      '--url',
      `${a!.url},${b!.url}`,
      '--connections',
      '98',
      '--channels',
      '7',
      '--rate',
      '490',
      '--duration',
      '3',
      '--kill-pid',
      String(a!.pid),
      '--server-pid',
      String(b!.pid),
      '--max-recovery-ms',
      '3000',
      ...EXACTLY_ONCE_FLAGS,
      '--max-errors',
      '0',
    ]);
    // Publishers on the last URL (the survivor); 70 messages/s per channel.
    expect(r.settings).toMatchObject({ publishUrls: [b!.url], killPids: [a!.pid], disruptAtSec: 1.5 });
    expect(r.messages.sent).toBeGreaterThanOrEqual(1200);
    expect(r.messages).toMatchObject({
      expected: r.messages.sent * 14,
      received: r.messages.sent * 14,
      lost: 0,
      duplicates: 0,
      outOfOrder: 0,
    });
    const v = r.recovery!;
    // The 49 subscribers of the killed node came back on the survivor, on their first attempt.
    expect(v).toMatchObject({
      killed: [{ pid: a!.pid, error: null }],
      dropped: 0,
      affected: 49,
      outages: 49,
      recovered: 49,
      resynced: 0,
      unrecovered: 0,
      attempts: 49,
      attemptFailures: {},
      droppedByOffset: 0,
    });
    expect(v.recoveredPublications).toBeGreaterThan(0);
    expect(v.recoveryMs.count).toBe(49);
    expect(v.allRecoveredMs).toBeGreaterThan(0);
    expect(v.allRecoveredMs).toBeLessThan(3000);
    expect(r.errors).toEqual({});
    expect(r.slo).toMatchObject({ passed: true });
  });
});

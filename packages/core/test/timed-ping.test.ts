import { describe, expect, it } from 'vitest';
import { timedPing } from '../src/index';

describe('timedPing', () => {
  it('measures the round trip from before the ping starts, rounded to 0.01 ms', async () => {
    const ping = await timedPing(() => new Promise((resolve) => setTimeout(resolve, 30)));
    expect(ping.ok).toBe(true);
    if (!ping.ok) return;
    expect(ping.latencyMs).toBeGreaterThanOrEqual(25);
    expect(ping.latencyMs).toBeLessThan(1000);
    expect(Math.round(ping.latencyMs * 100)).toBeCloseTo(ping.latencyMs * 100, 6);
  });

  it('turns a failure (thrown or rejected) into its message, never a rejection', async () => {
    await expect(timedPing(() => Promise.reject(new Error('no PONG')))).resolves.toEqual({
      ok: false,
      error: 'no PONG',
    });
    await expect(
      timedPing(() => {
        throw 'closed';
      }),
    ).resolves.toEqual({ ok: false, error: 'closed' });
  });
});

import { describe, expect, it } from 'vitest';
import { waitAtMost, withTimeout } from '../src/index';

const never = new Promise<never>(() => undefined);

describe('withTimeout', () => {
  it('settles as the promise does when it is in time', async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, () => new Error('late'))).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('no')), 1000, () => new Error('late'))).rejects.toThrow(
      'no',
    );
  });

  it('rejects with the error onTimeout makes when the promise is late', async () => {
    const t0 = performance.now();
    await expect(withTimeout(never, 30, () => new RangeError('late'))).rejects.toBeInstanceOf(RangeError);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
  });
});

describe('waitAtMost', () => {
  it('resolves when the promise settles, even by rejecting', async () => {
    const t0 = performance.now();
    await expect(waitAtMost(Promise.reject(new Error('no')), 5000)).resolves.toBeUndefined();
    await expect(waitAtMost(Promise.resolve('x'), 5000)).resolves.toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('gives up after ms on a promise that never settles', async () => {
    const t0 = performance.now();
    await waitAtMost(never, 30);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
  });
});

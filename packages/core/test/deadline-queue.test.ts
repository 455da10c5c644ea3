import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from '../src/deadline-queue';

afterEach(() => {
  vi.useRealTimers();
});

describe('DeadlineQueue', () => {
  it('hands items over at their deadline, at most one step late, in deadline order', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const due: string[] = [];
    const q = new DeadlineQueue<string>(
      (item) => due.push(`${item}@${Date.now()}`),
      () => {},
      100,
    );
    q.add('late', 1_000_950);
    q.add('early', 1_000_130);
    q.add('same-step', 1_000_101);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(199);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(due).toEqual(['early@1000200', 'same-step@1000200']);
    vi.advanceTimersByTime(800);
    expect(due).toEqual(['early@1000200', 'same-step@1000200', 'late@1001000']);
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('forgets deleted items and stops its timer when nothing waits', () => {
    vi.useFakeTimers({ now: 0 });
    const due: string[] = [];
    const q = new DeadlineQueue<string>(
      (item) => due.push(item),
      () => {},
      100,
    );
    const a = q.add('a', 500);
    const b = q.add('b', 300);
    expect(q.delete('b', b)).toBe(true);
    expect(q.delete('b', b)).toBe(false);
    expect(q.delete('a', b)).toBe(false);
    vi.advanceTimersByTime(400);
    expect(due).toEqual([]);
    expect(q.delete('a', a)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(due).toEqual([]);
  });

  it('re-arms for an earlier deadline, reaches deadlines past the longest timer, and reports a throwing handler', () => {
    vi.useFakeTimers({ now: 0 });
    const due: string[] = [];
    const errors: unknown[] = [];
    const q = new DeadlineQueue<string>(
      (item) => {
        if (item === 'boom') throw new Error('boom');
        due.push(item);
      },
      (error) => errors.push(error),
      100,
    );
    const far = 2 ** 31 + 5_000;
    q.add('far', far);
    q.add('boom', 1_000);
    q.add('soon', 1_000);
    vi.advanceTimersByTime(1_000);
    expect(due).toEqual(['soon']);
    expect(errors).toHaveLength(1);
    vi.advanceTimersByTime(far - 1_000 - 1);
    expect(due).toEqual(['soon']);
    vi.advanceTimersByTime(100);
    expect(due).toEqual(['soon', 'far']);
  });

  it('does not hand over an item that an earlier handler of the same bucket deleted', () => {
    vi.useFakeTimers({ now: 0 });
    const due: string[] = [];
    const keys = new Map<string, number>();
    let deleted: boolean | undefined;
    const q = new DeadlineQueue<string>(
      (item) => {
        due.push(item);
        // The first one's handler ends the second (a session closing another).
        if (item === 'first') deleted = q.delete('second', keys.get('second')!);
      },
      () => {},
      100,
    );
    keys.set('first', q.add('first', 50));
    keys.set('second', q.add('second', 60));
    vi.advanceTimersByTime(100);
    expect(due).toEqual(['first']);
    expect(deleted).toBe(true);
    // An item handed over is gone: deleting it afterwards finds nothing.
    expect(q.delete('first', keys.get('first')!)).toBe(false);
  });

  it('keeps its heap of deadlines bounded under churn', () => {
    vi.useFakeTimers({ now: 0 });
    const q = new DeadlineQueue<number>(
      () => {},
      () => {},
      100,
    );
    // A session that comes and goes 10,000 times with the same expiry, beside one that stays.
    q.add(-1, 50_000);
    let most = 0;
    for (let i = 0; i < 10_000; i++) {
      q.delete(i, q.add(i, 60_000));
      most = Math.max(most, q.heldDeadlines);
    }
    expect(q.size).toBe(1);
    // Without the rebuild it would hold 10,001.
    expect(most).toBeLessThanOrEqual(2 * 2 + 64 + 1);
    // Stale deadlines never hand anything over.
    const due: number[] = [];
    const q2 = new DeadlineQueue<number>(
      (n) => due.push(n),
      () => {},
      100,
    );
    for (let i = 0; i < 1_000; i++) q2.delete(i, q2.add(i, 10_000 + i * 100));
    q2.add(7, 20_000);
    vi.advanceTimersByTime(20_000);
    expect(due).toEqual([7]);
  });
});

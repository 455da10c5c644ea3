import { describe, expect, it } from 'vitest';
import { type DeliveryCounts, decodePayload, encodePayload, SequenceTracker } from '../src/index';

const counts = (): DeliveryCounts => ({ received: 0, duplicates: 0, outOfOrder: 0 });

describe('payload', () => {
  it('is padded to size and read back out of a raw frame of either dialect', () => {
    const p = encodePayload(3, 7, 123456, 98765432.4, 100);
    expect(p).toHaveLength(100);
    for (const frame of [
      JSON.stringify({ type: 'message', channel: 'load-7', data: p }),
      `42${JSON.stringify(['message', 'load-7', p])}`,
    ]) {
      expect({ ...decodePayload(Buffer.from(frame)) }).toEqual({
        at: frame.indexOf('~lt~'),
        publisher: 3,
        channel: 7,
        seq: 123456,
        sentUs: 98765432,
      });
    }
  });

  it('looks where the last frame had its marker first, and searches when it is not there', () => {
    const frame = Buffer.from(
      JSON.stringify({ type: 'message', channel: 'c', data: encodePayload(0, 0, 9, 5, 60) }),
    );
    const at = frame.indexOf('~lt~');
    expect(decodePayload(frame, at)).toMatchObject({ at, seq: 9 });
    expect(decodePayload(frame, at + 3)).toMatchObject({ at, seq: 9 });
    expect(decodePayload(frame, 10_000)).toMatchObject({ at, seq: 9 });
  });

  it('reads nothing from frames without a well-formed marker', () => {
    expect(decodePayload(Buffer.from('{"type":"ack","id":1}'))).toBeNull();
    expect(decodePayload(Buffer.from('"~lt~1~2~x~4~"'))).toBeNull();
    expect(decodePayload(Buffer.from('"~lt~1~2~3'))).toBeNull();
  });
});

describe('SequenceTracker', () => {
  it('counts an in-order stream as complete', () => {
    const c = counts();
    const t = new SequenceTracker();
    for (let s = 0; s < 1000; s++) t.record(s, c);
    expect(c).toEqual({ received: 1000, duplicates: 0, outOfOrder: 0 });
    expect(t.lost(1000)).toBe(0);
    expect(t.lost(1005)).toBe(5);
  });

  it('counts duplicates, late arrivals and gaps', () => {
    const c = counts();
    const t = new SequenceTracker();
    for (const s of [0, 1, 3, 2, 3, 1, 6, 5, 9]) t.record(s, c);
    // 3 before 2 and 6 before 5: two out of order; 3 and 1 again: two duplicates; 4, 7, 8 missing.
    expect(c).toEqual({ received: 9, duplicates: 2, outOfOrder: 2 });
    expect(t.unique).toBe(7);
    expect(t.lost(10)).toBe(3);
  });

  it('starts a late joiner at the first number it gets and counts only gaps after it', () => {
    const c = counts();
    const t = new SequenceTracker(null);
    for (const s of [40, 41, 43, 44]) t.record(s, c);
    expect(t.lost()).toBe(1);
    expect(t.base).toBe(40);
  });

  it('gives up a gap that holds more than 10,000 numbers behind it, counting it lost', () => {
    const c = counts();
    const t = new SequenceTracker();
    t.record(0, c);
    for (let s = 2; s <= 10_002; s++) t.record(s, c);
    expect(t.abandoned).toBe(1);
    expect(t.lost(10_003)).toBe(1);
  });
});

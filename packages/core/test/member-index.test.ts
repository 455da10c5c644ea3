import { describe, expect, it } from 'vitest';
import { MemberIndex } from '../src/member-index';

describe('MemberIndex', () => {
  it('holds one member without a set and grows and shrinks through two', () => {
    const index = new MemberIndex<string, { id: string }>();
    const a = { id: 'a' };
    const b = { id: 'b' };
    const c = { id: 'c' };
    expect([...index.get('k')]).toEqual([]);
    expect(index.add('k', a)).toBe(true);
    expect(index.add('k', a)).toBe(false);
    expect([...index.get('k')]).toEqual([a]);
    expect(index.count('k')).toBe(1);
    expect(index.add('k', b)).toBe(false);
    expect(index.add('k', c)).toBe(false);
    expect(index.count('k')).toBe(3);
    expect([...index.get('k')]).toEqual([a, b, c]);
    expect(index.has('k', b)).toBe(true);
    expect(index.delete('k', b)).toBe(false);
    expect(index.delete('k', b)).toBe(false);
    expect(index.delete('k', a)).toBe(false);
    // Back to one member, held as itself: the next delete empties the key.
    expect([...index.get('k')]).toEqual([c]);
    expect(index.has('k', a)).toBe(false);
    expect(index.delete('k', a)).toBe(false);
    expect(index.delete('k', c)).toBe(true);
    expect(index.size).toBe(0);
    expect(index.count('k')).toBe(0);
  });

  it('counts members per key and keeps keys apart', () => {
    const index = new MemberIndex<string, object>();
    const [x, y, z] = [{}, {}, {}];
    index.add('t1', x);
    index.add('t1', y);
    index.add('t2', z);
    expect(Object.fromEntries(index.counts())).toEqual({ t1: 2, t2: 1 });
    expect(index.delete('t2', x)).toBe(false);
    expect(index.size).toBe(2);
  });

  it('lets a caller delete members while it iterates them', () => {
    const index = new MemberIndex<string, object>();
    const members = [{}, {}, {}];
    for (const m of members) index.add('k', m);
    const seen: object[] = [];
    for (const m of index.get('k')) {
      seen.push(m);
      index.delete('k', m);
    }
    expect(seen).toEqual(members);
    expect(index.size).toBe(0);
  });
});

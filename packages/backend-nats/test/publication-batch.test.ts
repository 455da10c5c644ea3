import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch, publicationsOf } from '../src/publication-batch';

const meta = (offset: number, count: number) => ({
  offset,
  count,
  epoch: 'e',
  since: 1,
  size: 10,
  ttlMs: 1000,
});

describe('publication batch framing', () => {
  it('frames each body as a varint length and its bytes, and reads them back', () => {
    const bodies = [
      Buffer.alloc(0),
      Buffer.from('a'),
      Buffer.alloc(127, 1),
      Buffer.alloc(128, 2),
      Buffer.alloc(16_384, 3),
    ];
    const data = encodeBatch(bodies);
    expect(data.length).toBe(1 + 2 + 128 + 130 + (16_384 + 3));
    expect([...data.subarray(0, 3)]).toEqual([0x00, 0x01, 0x61]);
    // 128 = 0x80 0x01; 16384 = 0x80 0x80 0x01
    expect([...data.subarray(131, 133)]).toEqual([0x80, 0x01]);
    expect([...data.subarray(261, 264)]).toEqual([0x80, 0x80, 0x01]);
    expect(decodeBatch(data, bodies.length)).toEqual(bodies);
  });

  it('refuses data that does not hold exactly `count` framed bodies', () => {
    const data = encodeBatch([Buffer.from('ab'), Buffer.from('c')]);
    expect(decodeBatch(data, 3)).toBeNull();
    expect(decodeBatch(data, 1)).toBeNull();
    expect(decodeBatch(data.subarray(0, data.length - 1), 2)).toBeNull();
    expect(decodeBatch(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 1)).toBeNull();
  });

  it('gives a message its publications: the body as it is for one, consecutive offsets for a batch', () => {
    expect(publicationsOf(meta(7, 1), Buffer.from('raw'))).toEqual([{ offset: 7, body: Buffer.from('raw') }]);
    const batch = encodeBatch([Buffer.from('x'), Buffer.from('y'), Buffer.from('z')]);
    expect(publicationsOf(meta(9, 3), batch)).toEqual([
      { offset: 7, body: Buffer.from('x') },
      { offset: 8, body: Buffer.from('y') },
      { offset: 9, body: Buffer.from('z') },
    ]);
    expect(publicationsOf(meta(9, 2), batch)).toBeNull();
  });
});

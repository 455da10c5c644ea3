import { Writable } from 'node:stream';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TurnCorker } from '../src/turn-corker';

/** A stream that records each batch the stream machinery hands it (one per system call on a socket). */
function recorder(): { stream: Writable; batches: string[][] } {
  const batches: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      batches.push([chunk.toString()]);
      done();
    },
    writev(chunks, done) {
      batches.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      done();
    },
  });
  return { stream, batches };
}

describe('TurnCorker', () => {
  it('sends every write of one turn as one batch, in order, and the next turn apart', async () => {
    const corker = new TurnCorker();
    const { stream, batches } = recorder();
    for (const x of ['a', 'b', 'c']) {
      corker.hold(stream);
      stream.write(x);
    }
    expect(batches).toEqual([]);
    await turn();
    expect(batches).toEqual([['a', 'b', 'c']]);
    corker.hold(stream);
    stream.write('d');
    corker.hold(stream);
    stream.write('e');
    await turn();
    expect(batches).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
  });

  it('holds several streams at once and leaves an ended or missing stream alone', async () => {
    const corker = new TurnCorker();
    const one = recorder();
    const two = recorder();
    corker.hold(one.stream);
    corker.hold(two.stream);
    one.stream.write('1');
    two.stream.write('2');
    one.stream.write('3');
    corker.hold(undefined);
    const ended = recorder();
    ended.stream.end();
    corker.hold(ended.stream);
    expect(ended.stream.writableCorked).toBe(0);
    await turn();
    expect(one.batches).toEqual([['1', '3']]);
    expect(two.batches).toEqual([['2']]);
    expect(one.stream.writableCorked).toBe(0);
  });
});

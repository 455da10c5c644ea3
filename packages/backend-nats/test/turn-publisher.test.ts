import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TurnPublisher } from '../src/turn-publisher';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('TurnPublisher', () => {
  it("hands one turn's publishes to the client together, in order, at the end of the turn", async () => {
    const sent: string[][] = [];
    let burst: string[] | null = null;
    const publisher = new TurnPublisher((subject) => {
      if (burst === null) {
        burst = [];
        sent.push(burst);
        queueMicrotask(() => {
          burst = null;
        });
      }
      burst.push(subject);
    });
    const first = ['a', 'b', 'c'].map((s) => publisher.publish(s, bytes(s), s));
    expect(sent).toEqual([]);
    await Promise.all(first);
    expect(sent).toEqual([['a', 'b', 'c']]);
    await Promise.all([publisher.publish('d', bytes('d'), 'd'), publisher.publish('e', bytes('e'), 'e')]);
    expect(sent).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
  });

  it('rejects only the publish the client refused, with what refused makes of it, and flush() sends at once', async () => {
    const sent: string[] = [];
    const publisher = new TurnPublisher(
      (subject) => {
        if (subject === 'too-big') throw new Error('MAX_PAYLOAD_EXCEEDED');
        sent.push(subject);
      },
      () => {},
      (error, tag) => new Error(`${tag}: ${(error as Error).message}`),
    );
    const ok1 = publisher.publish('x', bytes('x'), 'topic-x');
    const bad = publisher.publish('too-big', bytes('y'), 'topic-y');
    const ok2 = publisher.publish('z', bytes('z'), 'topic-z');
    publisher.flush();
    expect(sent).toEqual(['x', 'z']);
    await expect(ok1).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow('topic-y: MAX_PAYLOAD_EXCEEDED');
    await expect(ok2).resolves.toBeUndefined();
    // The scheduled end-of-turn flush finds nothing left to send.
    await turn();
    expect(sent).toEqual(['x', 'z']);
  });

  it('calls afterBurst once after each burst was handed over, and not for an empty flush', async () => {
    const log: string[] = [];
    const publisher = new TurnPublisher(
      (subject) => {
        if (subject === 'refused') throw new Error('no');
        log.push(subject);
      },
      (handed) => log.push(`burst of ${handed}`),
    );
    await Promise.all([publisher.publish('a', bytes('a'), 'a'), publisher.publish('b', bytes('b'), 'b')]);
    publisher.flush();
    const refused = publisher.publish('refused', bytes('r'), 'r');
    await publisher.publish('c', bytes('c'), 'c');
    await expect(refused).rejects.toThrow('no');
    expect(log).toEqual(['a', 'b', 'burst of 2', 'c', 'burst of 1']);
  });
});

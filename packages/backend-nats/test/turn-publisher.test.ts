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
    const first = ['a', 'b', 'c'].map((s) => publisher.publish(s, bytes(s)));
    expect(sent).toEqual([]);
    await Promise.all(first);
    expect(sent).toEqual([['a', 'b', 'c']]);
    await Promise.all([publisher.publish('d', bytes('d')), publisher.publish('e', bytes('e'))]);
    expect(sent).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
  });

  it('rejects only the publish the client refused, and flush() sends at once', async () => {
    const sent: string[] = [];
    const publisher = new TurnPublisher((subject) => {
      if (subject === 'too-big') throw new Error('MAX_PAYLOAD_EXCEEDED');
      sent.push(subject);
    });
    const ok1 = publisher.publish('x', bytes('x'));
    const bad = publisher.publish('too-big', bytes('y'));
    const ok2 = publisher.publish('z', bytes('z'));
    publisher.flush();
    expect(sent).toEqual(['x', 'z']);
    await expect(ok1).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow('MAX_PAYLOAD_EXCEEDED');
    await expect(ok2).resolves.toBeUndefined();
    // The scheduled end-of-turn flush finds nothing left to send.
    await turn();
    expect(sent).toEqual(['x', 'z']);
  });

  it('calls afterBurst once after each burst was handed over, and not for an empty flush', async () => {
    const log: string[] = [];
    const publisher = new TurnPublisher(
      (subject) => log.push(subject),
      () => log.push('burst'),
    );
    await Promise.all([publisher.publish('a', bytes('a')), publisher.publish('b', bytes('b'))]);
    publisher.flush();
    await publisher.publish('c', bytes('c'));
    expect(log).toEqual(['a', 'b', 'burst', 'c', 'burst']);
  });
});

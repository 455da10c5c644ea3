import { describe, expect, it } from 'vitest';
import { MemoryBackend, MemoryBus } from '../src/index';

describe('MemoryBackend.reachesNoOtherNode', () => {
  it('follows who else on the bus is joined to the topic', async () => {
    const bus = new MemoryBus();
    const a = new MemoryBackend({ bus });
    const b = new MemoryBackend({ bus });
    // Not started: it cannot promise anything.
    expect(a.reachesNoOtherNode('channel:x')).toBe(false);
    await a.start(() => {});
    await b.start(() => {});
    await a.subscribe('channel:x');
    expect(a.reachesNoOtherNode('channel:x')).toBe(true);
    expect(a.reachesNoOtherNode('channel:y')).toBe(true);

    await b.subscribe('channel:y');
    expect(a.reachesNoOtherNode('channel:x')).toBe(true);
    expect(a.reachesNoOtherNode('channel:y')).toBe(false);
    expect(b.reachesNoOtherNode('channel:x')).toBe(false);

    // Joining a topic twice counts once: one leave frees it.
    await b.subscribe('channel:y');
    await b.unsubscribe('channel:y');
    expect(a.reachesNoOtherNode('channel:y')).toBe(true);
    await b.subscribe('channel:y');
    await b.subscribe('channel:z');
    await b.unsubscribe('channel:y');
    expect(a.reachesNoOtherNode('channel:y')).toBe(true);
    expect(a.reachesNoOtherNode('channel:z')).toBe(false);
    await b.unsubscribe('channel:z');
    expect(a.reachesNoOtherNode('channel:z')).toBe(true);
    // b may reach a on x only.
    expect(b.reachesNoOtherNode('channel:x')).toBe(false);
    expect(b.reachesNoOtherNode('channel:q')).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { StartStopLifecycle } from '../src/index';
import { createGate } from './gate';

/** A lifecycle whose steps log what they do; `open` fails while `failOpen` is set. */
function recorded(options: { openGate?: Promise<void>; closeGate?: Promise<void> } = {}) {
  const log: string[] = [];
  const state = { failOpen: false };
  const life = new StartStopLifecycle({
    async open() {
      log.push('open');
      await options.openGate;
      if (state.failOpen) throw new Error('refused');
      log.push('opened');
    },
    async close() {
      log.push('close');
      await options.closeGate;
      log.push('closed');
    },
  });
  return { life, log, state };
}

describe('StartStopLifecycle', () => {
  it('opens once for concurrent starts and closes once for concurrent stops', async () => {
    const { life, log } = recorded();
    const a = life.start();
    expect(life.start()).toBe(a);
    await a;
    expect(life.stopped).toBe(false);
    const s = life.stop();
    expect(life.stop()).toBe(s);
    expect(life.stopped).toBe(true);
    await s;
    await life.stop();
    expect(log).toEqual(['open', 'opened', 'close', 'closed']);
    expect(life.stopped).toBe(true);
  });

  it('calls open before start returns when nothing is closing', () => {
    const { life, log } = recorded();
    void life.start();
    expect(log).toEqual(['open']);
  });

  it('stop before any start does nothing', async () => {
    const { life, log } = recorded();
    await life.stop();
    expect(log).toEqual([]);
    expect(life.stopped).toBe(false);
  });

  it('stop waits for a start under way, then closes', async () => {
    const gate = createGate();
    const { life, log } = recorded({ openGate: gate.opened });
    const started = life.start();
    const stopped = life.stop();
    await Promise.resolve();
    expect(log).toEqual(['open']);
    gate.open();
    await Promise.all([started, stopped]);
    expect(log).toEqual(['open', 'opened', 'close', 'closed']);
  });

  it('a failed start rejects, is forgotten and can be retried', async () => {
    const { life, log, state } = recorded();
    state.failOpen = true;
    await expect(life.start()).rejects.toThrow('refused');
    await life.stop(); // nothing was opened: nothing to close
    state.failOpen = false;
    await life.start();
    expect(log).toEqual(['open', 'open', 'opened']);
  });

  it('a start during a stop waits for the close, then opens again; stopped stays true until then', async () => {
    const gate = createGate();
    const { life, log } = recorded({ closeGate: gate.opened });
    await life.start();
    const stopping = life.stop();
    const restarted = life.start();
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(['open', 'opened', 'close']);
    expect(life.stopped).toBe(true);
    gate.open();
    await Promise.all([stopping, restarted]);
    expect(log).toEqual(['open', 'opened', 'close', 'closed', 'open', 'opened']);
    expect(life.stopped).toBe(false);
    expect(life.start()).toBe(restarted);
  });
});

describe('StartStopLifecycle.running', () => {
  it('hands out the resource only while started', async () => {
    const { life } = recorded();
    const notStarted = () => new Error('not started');
    const conn = { id: 1 };
    expect(() => life.running(null, notStarted)).toThrow('not started');
    await life.start();
    expect(life.running(conn, notStarted)).toBe(conn);
    expect(() => life.running(null, notStarted)).toThrow('not started');
    const stopping = life.stop();
    expect(() => life.running(conn, notStarted)).toThrow('not started');
    await stopping;
    expect(() => life.running(conn, notStarted)).toThrow('not started');
    await life.start();
    expect(life.running(conn, notStarted)).toBe(conn);
  });
});

import { withTimeout } from '@dotmac-ws/core';
import type { Redis } from 'ioredis';

/**
 * Publishes its arguments' (channel, message) pairs in order. Sent as `EVAL` every time, never
 * `EVALSHA`: Redis looks the body up in its script cache by hash, so there is no `NOSCRIPT` to
 * recover from after a restart or a `SCRIPT FLUSH`, and no resent call can overtake a later one.
 */
const PUBLISH_PAIRS =
  "for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end return #ARGV / 2";

/** Messages one script call carries at most; more in one turn start another call. */
const MAX_MESSAGES = 1000;
/** Payload bytes one script call carries at most (Redis' request buffer is bounded too). */
const MAX_BYTES = 4 * 1024 * 1024;

/**
 * True when `error` says this Redis does not run scripts for this client (an ACL without
 * `EVAL`, a renamed or disabled command, a managed service without scripting): then publishes go
 * one `PUBLISH` each.
 * @internal
 */
export function isScriptRefusal(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  // Not BUSY (another client's script is running): that one passes.
  return /NOPERM|unknown command|not allowed|scripting is disabled/i.test(text);
}

/**
 * Asks `conn` whether it runs scripts (`EVAL "return 1" 0`): false when it refuses them, true
 * otherwise (an error of another kind, a timeout included, leaves batching on: a later refusal
 * still turns it off).
 * @internal
 */
export async function runsScripts(conn: Redis, timeoutMs: number): Promise<boolean> {
  try {
    await withTimeout(conn.call('EVAL', 'return 1', 0), timeoutMs, () => new Error('no answer in time'));
    return true;
  } catch (error) {
    return !isScriptRefusal(error);
  }
}

/** What a batch tells its owner when its call settled. */
export interface PublishBatchEvents {
  /** `count` messages were accepted by Redis. */
  published(count: number): void;
  /** Bounds a call in time: the promise its messages settle with (see `PublishWatch`). */
  watch<T>(call: Promise<T>): Promise<T>;
}

/**
 * One event-loop turn's publishes on one Redis connection, sent as one script call instead of
 * one `PUBLISH` each: one command for ioredis to build, one reply and one promise per turn
 * rather than per message, which is most of what a message that crosses nodes costs its
 * publishing node. Redis still runs one `PUBLISH` per message, in the order they were added; a
 * later turn's call is written after this one on the same connection, so one publisher's order
 * holds across turns too. Every message of a call shares its outcome.
 * @internal
 */
export class PublishBatcher {
  readonly #events: PublishBatchEvents;
  #conn: Redis | null = null;
  #args: (string | Buffer)[] = [];
  #bytes = 0;
  #done: Promise<void> | null = null;
  #settle: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  #scheduled = false;
  readonly #flushTurn = () => {
    this.#scheduled = false;
    this.#flush();
  };

  constructor(events: PublishBatchEvents) {
    this.#events = events;
  }

  /**
   * Adds one message to this turn's call on `conn`; resolves once Redis ran the call, rejects
   * with the call's error (the same for every message of the call).
   */
  add(conn: Redis, channel: string, payload: Buffer): Promise<void> {
    if (this.#conn !== conn || this.#args.length >= 2 * MAX_MESSAGES || this.#bytes >= MAX_BYTES) {
      this.#flush();
    }
    if (this.#done === null) {
      this.#conn = conn;
      this.#done = new Promise<void>((resolve, reject) => {
        this.#settle = { resolve, reject };
      });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flushTurn);
      }
    }
    this.#args.push(channel, payload);
    this.#bytes += payload.length;
    return this.#done;
  }

  /** Sends the call being filled, if any. */
  #flush(): void {
    const conn = this.#conn;
    const settle = this.#settle;
    const args = this.#args;
    if (conn === null || settle === null || args.length === 0) return;
    this.#conn = null;
    this.#settle = null;
    this.#done = null;
    this.#args = [];
    this.#bytes = 0;
    const count = args.length / 2;
    let call: Promise<unknown>;
    try {
      call = this.#events.watch(conn.callBuffer('EVAL', PUBLISH_PAIRS, 0, ...args));
    } catch (error) {
      settle.reject(error);
      return;
    }
    call.then(() => {
      this.#events.published(count);
      settle.resolve();
    }, settle.reject);
  }
}

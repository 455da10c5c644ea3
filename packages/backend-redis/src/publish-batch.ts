import { withTimeout } from '@dotmac-ws/core';
import { Command, type Redis } from 'ioredis';

/**
 * Publishes its arguments' (channel, message) pairs in order. Sent as `EVAL` every time, never
 * `EVALSHA`: Redis looks the body up in its script cache by hash, so there is no `NOSCRIPT` to
 * recover from after a restart or a `SCRIPT FLUSH`, and no resent call can overtake a later one.
 */
const PUBLISH_PAIRS =
  "for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end return #ARGV / 2";

/** `EVAL <PUBLISH_PAIRS> 0` as RESP, without the count of arguments that starts a command. */
const EVAL_HEAD = Buffer.from(
  `$4\r\nEVAL\r\n$${Buffer.byteLength(PUBLISH_PAIRS)}\r\n${PUBLISH_PAIRS}\r\n$1\r\n0\r\n`,
);

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
 * one `PUBLISH` each: one command (written by {@link encodeCall} rather than built by ioredis),
 * one reply and one promise per turn rather than per message, which is most of what a message
 * that crosses nodes costs its publishing node. Redis still runs one `PUBLISH` per message, in
 * the order they were added; a later turn's call is written after this one on the same
 * connection, so one publisher's order holds across turns too. Every message of a call shares its outcome.
 * @internal
 */
export class PublishBatcher {
  readonly #events: PublishBatchEvents;
  #conn: Redis | null = null;
  /** The call being filled: channels and messages, alternating, and their channels' byte lengths. */
  #pairs: (string | Buffer)[] = [];
  #channelBytes: number[] = [];
  /** Message bytes so far (the bound on a call). */
  #bytes = 0;
  /** Size of the call's RESP text so far, its first line and `EVAL_HEAD` left out. */
  #wireBytes = 0;
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
    if (this.#conn !== conn || this.#channelBytes.length >= MAX_MESSAGES || this.#bytes >= MAX_BYTES) {
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
    const channelBytes = Buffer.byteLength(channel);
    this.#pairs.push(channel, payload);
    this.#channelBytes.push(channelBytes);
    this.#bytes += payload.length;
    this.#wireBytes += bulkSize(channelBytes) + bulkSize(payload.length);
    return this.#done;
  }

  /** Sends the call being filled, if any. */
  #flush(): void {
    const conn = this.#conn;
    const settle = this.#settle;
    const pairs = this.#pairs;
    const channelBytes = this.#channelBytes;
    if (conn === null || settle === null || channelBytes.length === 0) return;
    const wireBytes = this.#wireBytes;
    this.#conn = null;
    this.#settle = null;
    this.#done = null;
    this.#pairs = [];
    this.#channelBytes = [];
    this.#bytes = 0;
    this.#wireBytes = 0;
    const count = channelBytes.length;
    let call: Promise<unknown>;
    try {
      const wire = encodeCall(pairs, channelBytes, wireBytes);
      call = this.#events.watch(conn.sendCommand(new EncodedCall(wire)) as Promise<unknown>);
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

/**
 * A script call whose RESP text is already written: ioredis measures, frames and copies each
 * argument of a command one by one (about ten length computations and five copies per
 * message), which cost the publishing node more than everything else the call does; here the
 * whole call is measured once and written into one buffer. What Redis receives is the same
 * `EVAL` with the same arguments. ioredis' own script commands override `toWritable` the same way.
 */
class EncodedCall extends Command {
  readonly #wire: Buffer;

  constructor(wire: Buffer) {
    super('eval', [], { replyEncoding: null });
    this.#wire = wire;
  }

  override toWritable(): Buffer {
    return this.#wire;
  }
}

/** Bytes of one bulk string of `length` bytes in RESP: `$<length>\r\n<bytes>\r\n`. */
function bulkSize(length: number): number {
  return 1 + decimalDigits(length) + 2 + length + 2;
}

function decimalDigits(n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/** `EVAL <PUBLISH_PAIRS> 0 channel message ...` as RESP, in one buffer. */
function encodeCall(
  pairs: readonly (string | Buffer)[],
  channelBytes: readonly number[],
  pairBytes: number,
): Buffer {
  const first = `*${3 + pairs.length}\r\n`;
  const out = Buffer.allocUnsafe(first.length + EVAL_HEAD.length + pairBytes);
  let at = out.write(first, 0, 'latin1');
  at += EVAL_HEAD.copy(out, at);
  for (let i = 0; i < channelBytes.length; i++) {
    const length = channelBytes[i]!;
    at += out.write(`$${length}\r\n`, at, 'latin1');
    at += out.write(pairs[2 * i] as string, at, length, 'utf8');
    const message = pairs[2 * i + 1] as Buffer;
    at += out.write(`\r\n$${message.length}\r\n`, at, 'latin1');
    at += message.copy(out, at);
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  // A miscount would make Redis read garbage as the next command: refused here instead.
  if (at !== out.length) throw new Error(`publish call encoded as ${at} bytes, ${out.length} expected`);
  return out;
}

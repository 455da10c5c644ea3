import { AckPolicy, type ConsumerConfig, DeliverPolicy } from '@nats-io/jetstream';
import { createInbox, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import type { JetStreamHandles } from './nats-store-connection';

/** One message read from a stream by {@link readMessages}. @internal */
export interface ReadMessage {
  subject: string;
  /** Its stream sequence (a KV entry's revision). */
  seq: number;
  header: MsgHdrs | undefined;
  data: Uint8Array;
}

/** What {@link readMessages} reads. @internal */
export interface ReadRange {
  /** The subject (or a filter with wildcards) the messages are on. */
  filter: string;
  /** From this stream sequence on; every message when absent. */
  startSeq?: number;
  /** Only the last message of each subject matching {@link filter}. @default false */
  lastPerSubject?: boolean;
  /** At most this many. */
  max: number;
  /**
   * Reads in rounds: called before each round with what was read so far, returns how many more
   * messages to ask for (0 when enough). Without it, one round asks for everything ({@link max}).
   */
  more?: (got: readonly ReadMessage[]) => number;
}

/** Rounds of one {@link readMessages} at most. */
const MAX_ROUNDS = 16;

/**
 * Reads the messages of `stream` on `range.filter` in stream order, in one batch: an ephemeral
 * consumer (in memory, no acks) is made, told how many messages are pending, asked for that
 * many at once with `no_wait`, and deleted. Three round trips whatever the count; the answer
 * arrives within `ms` or the call rejects (the caller's connection maps that to
 * `BackendUnavailableError`). Works on nats-server 2.9 (no batch direct get needed). With
 * `range.more`, the consumer is asked in rounds (at most 16, one round trip each), as many as
 * `more` says each time.
 * @internal
 */
export async function readMessages(
  h: JetStreamHandles,
  stream: string,
  range: ReadRange,
  ms: number,
): Promise<ReadMessage[]> {
  if (range.max <= 0) return [];
  const config: Partial<ConsumerConfig> = {
    filter_subject: range.filter,
    ack_policy: AckPolicy.None,
    mem_storage: true,
    num_replicas: 1,
    // Deleted right after the read; the server removes it by itself if that delete is lost.
    inactive_threshold: 30_000 * 1_000_000,
    deliver_policy:
      range.lastPerSubject === true
        ? DeliverPolicy.LastPerSubject
        : range.startSeq !== undefined
          ? DeliverPolicy.StartSequence
          : DeliverPolicy.All,
  };
  if (range.startSeq !== undefined && range.lastPerSubject !== true) config.opt_start_seq = range.startSeq;
  const info = await h.jsm.consumers.add(stream, config);
  try {
    let out: ReadMessage[] = [];
    let pending = info.num_pending;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const more = range.more === undefined ? Number.POSITIVE_INFINITY : range.more(out);
      const want = Math.min(range.max - out.length, pending, Math.floor(more));
      if (!(want > 0)) break;
      const got = await fetchBatch(h, stream, info.name, want, ms);
      // (no spread: a round may hold a million messages)
      out = out.length === 0 ? got : out.concat(got);
      pending -= got.length;
      if (range.more === undefined || got.length < want) break;
    }
    return out;
  } finally {
    h.jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
}

function fetchBatch(
  h: JetStreamHandles,
  stream: string,
  consumer: string,
  want: number,
  ms: number,
): Promise<ReadMessage[]> {
  return new Promise<ReadMessage[]>((resolve, reject) => {
    const out: ReadMessage[] = [];
    const inbox = createInbox();
    const sub = h.nc.subscribe(inbox, {
      callback: (error: Error | null, msg: Msg) => {
        if (error !== null) return finish(error);
        const code = msg.headers?.code ?? 0;
        // A status message (404 no messages, 408 timeout, 409 ...) ends the batch.
        if (code !== 0 && msg.data.length === 0) return finish(null);
        out.push({ subject: msg.subject, seq: streamSeq(msg.reply), header: msg.headers, data: msg.data });
        if (out.length >= want) finish(null);
      },
    });
    const timer = setTimeout(
      () => finish(new Error(`a read of ${want} messages got ${out.length} within ${ms} ms`)),
      ms,
    );
    let done = false;
    function finish(error: Error | null): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sub.unsubscribe();
      if (error === null) resolve(out);
      else reject(error);
    }
    try {
      h.nc.publish(
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
        JSON.stringify({ batch: want, no_wait: true }),
        {
          reply: inbox,
        },
      );
    } catch (error) {
      finish(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

/**
 * The stream sequence in a consumer message's reply subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`, or with
 * `<domain>.<account hash>` after `$JS.ACK` (and a random token at the end) on newer servers.
 */
function streamSeq(reply: string | undefined): number {
  const t = reply?.split('.') ?? [];
  const n = Number(t.length === 9 ? t[5] : t.length >= 11 ? t[7] : NaN);
  return Number.isSafeInteger(n) ? n : 0;
}

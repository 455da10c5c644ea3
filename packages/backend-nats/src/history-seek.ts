/** A stored message of one channel, as a search sees it: its stream sequence and offsets. @internal */
export interface MessageSpan {
  seq: number;
  /** Its first publication's offset. */
  first: number;
  /** Its last publication's offset. */
  last: number;
}

/** Probes of one search at most (a bisection over 2^53 sequences ends in 53, interpolation halves as often). */
const MAX_PROBES = 128;

/**
 * The message of a channel holding offset `from`; when none does (trimmed, or a hole), the
 * oldest kept one after it; null when the channel has none. `next(seq)` answers the channel's
 * first message at or after stream sequence `seq` (one direct get), `tail` is its last message.
 *
 * Everything kept before the answer holds offsets below `from` only, so a read may start there
 * and a trim may purge below it. Stream sequences are shared by every channel, so the answer
 * lies somewhere between the channel's first and last messages: probes alternate between an
 * interpolation on offsets (exact at the first probe when the channel's messages are adjacent
 * and of one size, e.g. one busy channel) and a bisection (a bound on the worst case). Each
 * probe narrows the bracket, also while other nodes append or trim (the answer is then only as
 * good as the messages seen). When the probes run out, the lower end of the bracket is the
 * answer (it holds offsets below `from`: safe to start at and to purge below).
 * @internal
 */
export async function seekOffset(
  next: (seq: number) => Promise<MessageSpan | null>,
  from: number,
  tail: MessageSpan,
): Promise<MessageSpan | null> {
  if (from >= tail.first && from <= tail.last) return tail;
  const first = await next(1);
  if (first === null) return null;
  if (from <= first.last) return first;
  if (from > tail.last) return tail;
  // The answer's sequence is in (lo.seq, hi): lo holds offsets below `from`, every message at
  // or after sequence `hi` holds offsets above it, and `after` is the first of those.
  let lo = first;
  let hi = tail.seq;
  let after = tail;
  for (let probe = 0; probe < MAX_PROBES && hi - lo.seq > 1; probe++) {
    const guess =
      probe % 2 === 0
        ? lo.seq + Math.round(((from - lo.last) / (after.first - lo.last)) * (hi - lo.seq))
        : lo.seq + Math.floor((hi - lo.seq) / 2);
    const seq = Math.min(hi - 1, Math.max(lo.seq + 1, guess));
    const m = await next(seq);
    if (m === null) break;
    if (m.first <= from && from <= m.last) return m;
    if (m.last < from) {
      if (m.seq >= hi) break;
      lo = m;
    } else {
      hi = seq;
      after = m;
    }
  }
  return hi - lo.seq > 1 ? lo : after;
}

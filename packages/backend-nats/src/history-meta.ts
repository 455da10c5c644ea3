import { headers, type MsgHdrs } from '@nats-io/transport-node';

/** The headers a stored message of publications carries. */
const H = {
  offset: 'Dotmac-Offset',
  count: 'Dotmac-Count',
  epoch: 'Dotmac-Epoch',
  since: 'Dotmac-Since',
  size: 'Dotmac-Size',
  ttl: 'Dotmac-Ttl',
} as const;

/**
 * What each stored message carries besides its body, in headers: the offset of its last
 * publication and how many it holds (`count`; the header is absent for one, as in messages
 * written before batches existed), so it holds `offset - count + 1`..`offset`; its epoch; the
 * channel's `size` and `ttlMs` at its last publication's append; and `since`: the oldest offset
 * still alive then (the channel's history before a pause longer than its TTL is dead, though
 * JetStream may still hold it). A read looks at the last message only to know what is readable.
 *
 * `Dotmac-Offset` holds the last offset, not the first, so that a node of the version before
 * batches, which takes it as the channel's top, appends the right next offset.
 * @internal
 */
export interface HistoryMeta {
  /** The offset of the message's last publication. */
  offset: number;
  /** The publications it holds (consecutive offsets ending at {@link offset}), at least 1. */
  count: number;
  epoch: string;
  since: number;
  size: number;
  ttlMs: number;
}

/** Writes `meta` into new headers. @internal */
export function metaHeaders(meta: HistoryMeta): MsgHdrs {
  const h = headers();
  h.set(H.offset, String(meta.offset));
  if (meta.count !== 1) h.set(H.count, String(meta.count));
  h.set(H.epoch, meta.epoch);
  h.set(H.since, String(meta.since));
  h.set(H.size, String(meta.size));
  h.set(H.ttl, String(meta.ttlMs));
  return h;
}

/** Reads the meta of a stored message; null when it is not one of ours (or is damaged). @internal */
export function readMeta(h: MsgHdrs | undefined): HistoryMeta | null {
  if (h === undefined) return null;
  const num = (name: string) => {
    const n = Number(h.get(name));
    return Number.isSafeInteger(n) && n >= 0 ? n : null;
  };
  const offset = num(H.offset);
  const count = h.has(H.count) ? num(H.count) : 1;
  const since = num(H.since);
  const size = num(H.size);
  const ttlMs = num(H.ttl);
  const epoch = h.get(H.epoch);
  if (offset === null || offset < 1 || count === null || count < 1 || count > offset) return null;
  if (since === null || size === null || ttlMs === null || epoch === '') return null;
  return { offset, count, epoch, since, size, ttlMs };
}

/** The offset of the message's first publication. @internal */
export function firstOffset(meta: HistoryMeta): number {
  return meta.offset - meta.count + 1;
}

/** The oldest offset a read may return, given the last message's meta. @internal */
export function oldestReadable(last: HistoryMeta): number {
  return Math.max(1, last.since, last.offset - Math.max(1, last.size) + 1);
}

import { headers, type MsgHdrs } from '@nats-io/transport-node';

/** The headers a stored publication carries. */
const H = {
  offset: 'Dotmac-Offset',
  epoch: 'Dotmac-Epoch',
  since: 'Dotmac-Since',
  size: 'Dotmac-Size',
  ttl: 'Dotmac-Ttl',
} as const;

/**
 * What each stored publication carries besides its body, in headers: its offset and epoch, and
 * the channel's `size` and `ttlMs` when it was appended, and `since`: the oldest offset still
 * alive then (the channel's history before a pause longer than its TTL is dead, though JetStream
 * may still hold it). A read looks at the last publication only to know what is readable.
 * @internal
 */
export interface HistoryMeta {
  offset: number;
  epoch: string;
  since: number;
  size: number;
  ttlMs: number;
}

/** Writes `meta` into new headers. @internal */
export function metaHeaders(meta: HistoryMeta): MsgHdrs {
  const h = headers();
  h.set(H.offset, String(meta.offset));
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
  const since = num(H.since);
  const size = num(H.size);
  const ttlMs = num(H.ttl);
  const epoch = h.get(H.epoch);
  if (offset === null || offset < 1 || since === null || size === null || ttlMs === null || epoch === '')
    return null;
  return { offset, epoch, since, size, ttlMs };
}

/** The oldest offset a read may return, given the last publication's meta. @internal */
export function oldestReadable(last: HistoryMeta): number {
  return Math.max(1, last.since, last.offset - Math.max(1, last.size) + 1);
}

import type { StoredPublication } from '@dotmac-ws/core';
import { firstOffset, type HistoryMeta } from './history-meta';

/**
 * The body of a JetStream message holding several publications of a channel: each body as its
 * length (an unsigned LEB128 varint, 1 byte up to 127, 3 bytes up to 2 MiB) followed by its
 * bytes, one after another, nothing else. The count and offsets are in the message's headers
 * (see `history-meta.ts`). A message with one publication holds its body as it is (the format
 * written before batches existed), so a batch of one is never framed.
 *
 * @example
 * const data = encodeBatch([Buffer.from('a'), Buffer.from('bc')]) // <01 61 02 62 63>
 * decodeBatch(data, 2) // [<61>, <62 63>]
 * @internal
 */
export function encodeBatch(bodies: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const b of bodies) total += varintLength(b.length) + b.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const b of bodies) {
    let n = b.length;
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 0x80);
    }
    out[at++] = n;
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * The `count` bodies framed by {@link encodeBatch} in `data`, as views of one copy of it; null
 * when `data` does not hold exactly `count` framed bodies (a damaged or foreign message).
 * @internal
 */
export function decodeBatch(data: Uint8Array, count: number): Buffer[] | null {
  const buf = Buffer.from(data);
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    let n = 0;
    let scale = 1;
    // A length fits in 7 varint bytes (2^49 > any message); more means damage.
    for (let k = 0; ; k++) {
      if (k === 7 || at >= buf.length) return null;
      const byte = buf[at++] as number;
      n += (byte & 0x7f) * scale;
      scale *= 0x80;
      if (byte < 0x80) break;
    }
    if (at + n > buf.length) return null;
    out.push(buf.subarray(at, at + n));
    at += n;
  }
  return at === buf.length ? out : null;
}

function varintLength(n: number): number {
  let bytes = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) bytes++;
  return bytes;
}

/**
 * The publications a stored message holds, oldest first: its body as it is when it holds one,
 * else its framed bodies at consecutive offsets; null when the framing is damaged.
 * @internal
 */
export function publicationsOf(meta: HistoryMeta, data: Uint8Array): StoredPublication[] | null {
  if (meta.count === 1) return [{ offset: meta.offset, body: Buffer.from(data) }];
  const bodies = decodeBatch(data, meta.count);
  const first = firstOffset(meta);
  return bodies === null ? null : bodies.map((body, i) => ({ offset: first + i, body }));
}

/**
 * Reading frames of channels with history (protocol v1.1) without parsing their JSON: a
 * delivery carries a top-level `"offset":N`, and an `ack` frame may carry publications whose
 * data holds load payloads, so it must not be taken for a delivery.
 */
const OFFSET_KEY = Buffer.from('"offset":');
const ACK_TYPE = Buffer.from('"type":"ack"');

/**
 * The `offset` of a delivery frame, or -1 when it has none. A load payload is one string of
 * `~`, digits and `x`, and channel names hold no quote, so the only `"offset":` of a delivery
 * frame is its top-level field, wherever the server put it.
 */
export function readOffset(frame: Buffer): number {
  const at = frame.indexOf(OFFSET_KEY);
  if (at < 0) return -1;
  let i = at + OFFSET_KEY.length;
  while (i < frame.length && frame[i] === 0x20) i++;
  let n = 0;
  let digits = 0;
  for (; i < frame.length && digits < 16; i++) {
    const c = frame[i]!;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    digits++;
  }
  return digits === 0 ? -1 : n;
}

/** True when `frame` is an `ack` (which a delivery never is: its type is the publisher's). */
export function isAckFrame(frame: Buffer): boolean {
  return frame.indexOf(ACK_TYPE) >= 0;
}

/**
 * The `data` of every message the runner publishes: a string that starts with
 * `~lt~{publisher}~{channel}~{sequence}~{sendTimeUs}~` and is padded with `x` to the
 * payload size. Being one ASCII string it needs no escaping, so a receiver finds it in the
 * raw frame of any dialect without parsing the JSON around it.
 */
const MARKER = '~lt~';
const MARKER_BYTES = Buffer.from(MARKER);
const TILDE = 0x7e;

/** Builds the payload of message `seq` of `publisher` on channel index `channel`. */
export function encodePayload(
  publisher: number,
  channel: number,
  seq: number,
  sentUs: number,
  bytes: number,
): string {
  const head = `${MARKER}${publisher}~${channel}~${seq}~${Math.round(sentUs)}~`;
  return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
}

/** The fields of a payload; one object is reused by every {@link decodePayload} call. */
export interface DecodedPayload {
  /** Where the marker was found in the frame (a hint for the next frame of the connection). */
  at: number;
  publisher: number;
  channel: number;
  seq: number;
  sentUs: number;
}

const decoded: DecodedPayload = { at: 0, publisher: 0, channel: 0, seq: 0, sentUs: 0 };

/**
 * Finds a payload in a raw inbound frame and reads its fields into a shared object (valid
 * until the next call); null when the frame carries none.
 */
export function decodePayload(frame: Buffer, hint = -1): DecodedPayload | null {
  // Frames of one connection put the marker at the same place: look there before searching.
  const at = hint >= 0 && markerAt(frame, hint) ? hint : frame.indexOf(MARKER_BYTES);
  if (at < 0) return null;
  decoded.at = at;
  let i = at + MARKER_BYTES.length;
  const fields = [0, 0, 0, 0];
  for (let f = 0; f < 4; f++) {
    let n = 0;
    let digits = 0;
    for (; i < frame.length; i++) {
      const c = frame[i]!;
      if (c === TILDE) break;
      if (c < 0x30 || c > 0x39) return null;
      n = n * 10 + (c - 0x30);
      digits++;
    }
    if (digits === 0 || i >= frame.length) return null;
    fields[f] = n;
    i++;
  }
  decoded.publisher = fields[0]!;
  decoded.channel = fields[1]!;
  decoded.seq = fields[2]!;
  decoded.sentUs = fields[3]!;
  return decoded;
}

function markerAt(frame: Buffer, i: number): boolean {
  return (
    i + 4 <= frame.length &&
    frame[i] === TILDE &&
    frame[i + 1] === 0x6c && // l
    frame[i + 2] === 0x74 && // t
    frame[i + 3] === TILDE
  );
}

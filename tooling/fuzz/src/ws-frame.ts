/** A valid `Sec-WebSocket-Key` (the sample nonce of RFC 6455). */
export const SAMPLE_WEBSOCKET_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** WebSocket opcodes (RFC 6455 §5.2). */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** One frame as the fuzzer writes it: every field may break the rules on purpose. */
export interface FrameSpec {
  fin: boolean;
  /** The three reserved bits, 0-7 (must be 0 without an extension). */
  rsv: number;
  /** 0-15; 3-7 and 11-15 are reserved. */
  opcode: number;
  payload: Uint8Array;
  /** Clients must mask; false writes an unmasked frame (a protocol error). */
  masked: boolean;
  /** The masking key (4 bytes), fixed by the input so that a run replays byte for byte. */
  maskKey: number;
  /** The length written in the header; differs from the payload's when set. */
  declaredLength?: number;
}

/** Encodes a client frame exactly as `spec` says, valid or not. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const length = spec.declaredLength ?? spec.payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.alloc(2);
    header[1] = length;
  } else if (length < 0x10000) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  header[0] = (spec.fin ? 0x80 : 0) | ((spec.rsv & 7) << 4) | (spec.opcode & 0x0f);
  if (!spec.masked) return Buffer.concat([header, spec.payload]);
  header[1]! |= 0x80;
  const key = Buffer.alloc(4);
  key.writeUInt32BE(spec.maskKey >>> 0);
  const body = Buffer.from(spec.payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([header, key, body]);
}

/** A well-formed masked client frame. */
export function clientFrame(opcode: number, payload: Uint8Array | string, fin = true): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return encodeFrame({ fin, rsv: 0, opcode, payload: bytes, masked: true, maskKey: 0x5a17c0de });
}

/** A frame the server sent (servers never mask). */
export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/**
 * Decodes the complete server frames at the start of `buf`; `rest` is the incomplete tail.
 * `malformed` is set when the bytes cannot be a server frame (masked, or a length over 2^53).
 */
export function decodeServerFrames(buf: Buffer): { frames: ServerFrame[]; rest: Buffer; malformed: boolean } {
  const frames: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    const b0 = buf[at]!;
    const b1 = buf[at + 1]!;
    if ((b1 & 0x80) !== 0) return { frames, rest: buf.subarray(at), malformed: true };
    let length = b1 & 0x7f;
    let headerLength = 2;
    if (length === 126) {
      if (buf.length - at < 4) break;
      length = buf.readUInt16BE(at + 2);
      headerLength = 4;
    } else if (length === 127) {
      if (buf.length - at < 10) break;
      const big = buf.readBigUInt64BE(at + 2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) return { frames, rest: buf.subarray(at), malformed: true };
      length = Number(big);
      headerLength = 10;
    }
    if (buf.length - at < headerLength + length) break;
    frames.push({
      fin: (b0 & 0x80) !== 0,
      opcode: b0 & 0x0f,
      payload: buf.subarray(at + headerLength, at + headerLength + length),
    });
    at += headerLength + length;
  }
  return { frames, rest: buf.subarray(at), malformed: false };
}

import type { StreamPosition } from './stream-position';

/**
 * The bytes a history store puts on the broker for one publication: the position line
 * `<offset> <epoch>\n`, then the gateway's envelope unchanged. Stores write it (a Redis store
 * from its Lua script: `offset .. ' ' .. epoch .. '\n' .. body`); the gateway reads it.
 * An envelope always starts with `{`, a positioned payload with a digit, so one topic can carry
 * both.
 */
export function encodePositioned(position: StreamPosition, body: Uint8Array): Buffer {
  const head = Buffer.from(`${position.offset} ${position.epoch}\n`);
  return Buffer.concat([head, body]);
}

/** True when `payload` starts with a position line (a digit) rather than an envelope. */
export function isPositioned(payload: Uint8Array): boolean {
  const c = payload[0];
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** Splits a positioned payload; throws on anything malformed. */
export function decodePositioned(payload: Uint8Array): { position: StreamPosition; body: Buffer } {
  const buf = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const nl = buf.indexOf(0x0a);
  const line = nl < 0 ? '' : buf.toString('latin1', 0, nl);
  const sp = line.indexOf(' ');
  const offset = Number(line.slice(0, sp));
  const epoch = line.slice(sp + 1);
  if (sp <= 0 || !Number.isSafeInteger(offset) || offset < 1 || epoch.length === 0) {
    throw new TypeError('positioned payload has no valid "<offset> <epoch>" line');
  }
  return { position: { offset, epoch }, body: buf.subarray(nl + 1) };
}

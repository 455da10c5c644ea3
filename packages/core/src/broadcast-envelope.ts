/** Whom a broadcast is for. Tenant-scoped targets reach only sessions of that tenant. */
export type BroadcastTarget =
  | { kind: 'channel'; channel: string; name: string }
  | { kind: 'user'; userId: string; tenantId?: string | null }
  | { kind: 'tenant'; tenantId: string }
  | { kind: 'role'; role: string; tenantId?: string | null }
  | { kind: 'permission'; permission: string; tenantId?: string | null }
  | { kind: 'all'; tenantId?: string | null };

/** The part of a broadcast that travels beside the frame between nodes. */
export interface EnvelopeHeader {
  /** Envelope format version. */
  v: 1;
  /** The publishing node, so that it can ignore its own echo. */
  origin: string;
  /** Publish time, ms since the epoch. */
  ts: number;
  /** Whom it is for. */
  target: BroadcastTarget;
  /** The delivered message type. */
  type: string;
  /** W3C trace context of the publish, if tracing is on. */
  traceparent?: string;
  /**
   * In a channel with history: the byte index of the frame where `"offset":N,` goes (the frame
   * is stored and sent between nodes without it; the store numbers it).
   */
  fh?: number;
}

/** The topic that all role, permission and everyone broadcasts share; nodes filter locally. */
export const BROADCAST_TOPIC = 'broadcast';

/**
 * The backend topic of a target. Channel, user and tenant targets have topics of their own, so
 * a node receives only what its sessions need; the rest share {@link BROADCAST_TOPIC}.
 */
export function topicFor(target: BroadcastTarget): string {
  switch (target.kind) {
    case 'channel':
      return channelTopic(target.channel);
    case 'user':
      return userTopic(target.userId);
    case 'tenant':
      return tenantTopic(target.tenantId);
    default:
      return BROADCAST_TOPIC;
  }
}

/** The backend topic of an internal channel name. @internal */
export function channelTopic(internal: string): string {
  return `channel:${internal}`;
}

/** The backend topic of a user's sessions. @internal */
export function userTopic(userId: string): string {
  return `user:${userId}`;
}

/** The backend topic of a tenant's sessions. @internal */
export function tenantTopic(tenantId: string): string {
  return `tenant:${tenantId}`;
}

const NEWLINE = 0x0a;

/**
 * Encodes an envelope as `<header JSON>\n<frame bytes>`. The frame is the exact text every
 * session receives, so no node ever serializes it again. JSON never holds a raw newline, so
 * the first one ends the header.
 */
export function encodeEnvelope(header: EnvelopeHeader, frame: Buffer): Buffer {
  const plain = plainHeaderText(header);
  const head = plain ?? JSON.stringify(header);
  // Plain text is ASCII: one byte per character, copied without a UTF-8 pass.
  const headLength = plain === undefined ? Buffer.byteLength(head) : head.length;
  // One buffer, written once: the header text, the newline, the frame.
  const out = Buffer.allocUnsafe(headLength + 1 + frame.length);
  out.write(head, 0, headLength, plain === undefined ? 'utf8' : 'latin1');
  out[headLength] = NEWLINE;
  frame.copy(out, headLength + 1);
  return out;
}

/** What JSON writes other than as it is (a quote, a backslash, a control character), or non-ASCII. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: a raw control character is what it looks for (JSON escapes them)
const NOT_ASCII_PLAIN = /["\\\u0000-\u001f\u007f-\uffff]/;

/** Whether `value` is written in JSON as `"value"`, one byte per character. */
function asciiPlain(value: string): boolean {
  return !NOT_ASCII_PLAIN.test(value);
}

/**
 * The header of a plain broadcast to a channel or a user (no trace, no frame splice, every
 * string ASCII with nothing JSON escapes) written by hand: the text `JSON.stringify` gives for it
 * and {@link readPlainHeader} reads back, built without serializing an object. It is built for
 * every message a node publishes. Undefined for any other header, which `JSON.stringify` writes.
 */
function plainHeaderText(header: EnvelopeHeader): string | undefined {
  const { origin, type, target } = header;
  if (header.traceparent !== undefined || header.fh !== undefined) return undefined;
  if (!Number.isSafeInteger(header.ts)) return undefined;
  if (!asciiPlain(origin) || !asciiPlain(type)) return undefined;
  let targetText: string;
  if (target.kind === 'channel') {
    if (!asciiPlain(target.channel) || !asciiPlain(target.name)) return undefined;
    targetText = `{"kind":"channel","channel":"${target.channel}","name":"${target.name}"}`;
  } else if (target.kind === 'user') {
    const { userId, tenantId } = target;
    if (!asciiPlain(userId)) return undefined;
    if (tenantId === null) targetText = `{"kind":"user","userId":"${userId}","tenantId":null}`;
    else if (typeof tenantId === 'string' && asciiPlain(tenantId)) {
      targetText = `{"kind":"user","userId":"${userId}","tenantId":"${tenantId}"}`;
    } else return undefined;
  } else return undefined;
  return `{"v":1,"origin":"${origin}","ts":${header.ts},"target":${targetText},"type":"${type}"}`;
}

/** Splits a payload from a backend into its header and frame; throws on anything malformed. */
export function decodeEnvelope(payload: Uint8Array): { header: EnvelopeHeader; frame: Buffer } {
  const buf = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const nl = buf.indexOf(NEWLINE);
  if (nl < 0) throw new TypeError('broadcast envelope has no header line');
  const text = buf.toString('utf8', 0, nl);
  const frame = buf.subarray(nl + 1);
  const plain = readPlainHeader(text);
  if (plain !== undefined) return { header: plain, frame };
  const header = JSON.parse(text) as EnvelopeHeader;
  if (
    header === null ||
    typeof header !== 'object' ||
    header.v !== 1 ||
    typeof header.origin !== 'string' ||
    typeof header.ts !== 'number' ||
    typeof header.type !== 'string' ||
    typeof header.target?.kind !== 'string'
  ) {
    throw new TypeError('broadcast envelope header is malformed');
  }
  return { header, frame };
}

/** What makes a header text other than plain: an escape or a raw control character. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: a raw control character is what it looks for (JSON escapes them)
const NOT_PLAIN = /[\u0000-\u001f\\]/;
const PLAIN_START = '{"v":1,"origin":"';

/**
 * Reads the header of a plain broadcast to a channel or a user exactly as {@link plainHeaderText}
 * writes it (`{"v":1,"origin":"…","ts":N,"target":{…},"type":"…"}`, no trace, no frame splice)
 * without `JSON.parse`, which costs the receiving node about a tenth of a message that crossed
 * nodes (every key looked up in V8's string table). Text without escapes and control
 * characters has no `"` inside its strings, so each string runs to the next quote. Gives the
 * same object `JSON.parse` would, or undefined for anything else (other targets, a trace, another
 * layout, escapes): those take `JSON.parse`.
 */
function readPlainHeader(text: string): EnvelopeHeader | undefined {
  if (!text.startsWith(PLAIN_START) || NOT_PLAIN.test(text)) return undefined;
  const r = new PlainReader(text, PLAIN_START.length);
  const origin = r.string();
  if (origin === undefined || !r.skip(',"ts":')) return undefined;
  const ts = r.integer();
  if (ts === undefined || !r.skip(',"target":{"kind":"')) return undefined;
  let target: BroadcastTarget;
  if (r.skip('channel",')) {
    if (!r.skip('"channel":"')) return undefined;
    const channel = r.string();
    if (channel === undefined || !r.skip(',"name":"')) return undefined;
    const name = r.string();
    if (name === undefined) return undefined;
    target = { kind: 'channel', channel, name };
  } else if (r.skip('user","userId":"')) {
    const userId = r.string();
    if (userId === undefined || !r.skip(',"tenantId":')) return undefined;
    let tenantId: string | null | undefined = null;
    if (!r.skip('null')) tenantId = r.skip('"') ? r.string() : undefined;
    if (tenantId === undefined) return undefined;
    target = { kind: 'user', userId, tenantId };
  } else return undefined;
  if (!r.skip('},"type":"')) return undefined;
  const type = r.string();
  if (type === undefined || !r.skip('}') || !r.done()) return undefined;
  return { v: 1, origin, ts, target, type };
}

/** A cursor over a plain header's text (see {@link readPlainHeader}). */
class PlainReader {
  readonly #text: string;
  #at: number;

  constructor(text: string, at: number) {
    this.#text = text;
    this.#at = at;
  }

  /** The string whose opening quote was just read, up to its closing quote (read too). */
  string(): string | undefined {
    const end = this.#text.indexOf('"', this.#at);
    if (end < 0) return undefined;
    const value = this.#text.slice(this.#at, end);
    this.#at = end + 1;
    return value;
  }

  /** A non-negative integer of at most 15 digits, as `Date.now()` writes one. */
  integer(): number | undefined {
    const text = this.#text;
    const start = this.#at;
    let value = 0;
    let at = start;
    for (; at < text.length && at - start < 16; at++) {
      const digit = text.charCodeAt(at) - 48;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    const digits = at - start;
    // One digit or more, no leading zero (JSON has none), no more than Date.now() writes.
    if (digits === 0 || digits > 15 || (digits > 1 && text.charCodeAt(start) === 48)) return undefined;
    this.#at = at;
    return value;
  }

  /** Reads `literal` if the text continues with it. */
  skip(literal: string): boolean {
    if (!this.#text.startsWith(literal, this.#at)) return false;
    this.#at += literal.length;
    return true;
  }

  done(): boolean {
    return this.#at === this.#text.length;
  }
}

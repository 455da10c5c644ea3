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
  const head = headerText(header);
  const headLength = Buffer.byteLength(head);
  // One buffer, written once: the header text, the newline, the frame.
  const out = Buffer.allocUnsafe(headLength + 1 + frame.length);
  out.write(head, 0, headLength, 'utf8');
  out[headLength] = NEWLINE;
  frame.copy(out, headLength + 1);
  return out;
}

/**
 * The header as JSON. A plain broadcast's header (no trace, no frame splice) is written by
 * hand, the same text `JSON.stringify` gives: it is built for every message a node publishes.
 */
function headerText(header: EnvelopeHeader): string {
  if (header.traceparent !== undefined || header.fh !== undefined) return JSON.stringify(header);
  return `{"v":1,"origin":${JSON.stringify(header.origin)},"ts":${header.ts},"target":${JSON.stringify(header.target)},"type":${JSON.stringify(header.type)}}`;
}

/** Splits a payload from a backend into its header and frame; throws on anything malformed. */
export function decodeEnvelope(payload: Uint8Array): { header: EnvelopeHeader; frame: Buffer } {
  const buf = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const nl = buf.indexOf(NEWLINE);
  if (nl < 0) throw new TypeError('broadcast envelope has no header line');
  const header = JSON.parse(buf.toString('utf8', 0, nl)) as EnvelopeHeader;
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
  return { header, frame: buf.subarray(nl + 1) };
}

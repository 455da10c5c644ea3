import { safeJsonParse } from './safe-json-parse';

/** Whose sessions a control command acts on. At least one of the fields is set. */
export interface SessionSelector {
  /** Sessions of this user. */
  userId?: string;
  /** This one session. */
  sessionId?: string;
  /** Sessions of this tenant (alone: every session of the tenant; with userId: that user's in it). */
  tenantId?: string | null;
}

/** What a node announces about itself every few seconds, and answers an `info` query with. */
export interface NodeInfo {
  node_id: string;
  version: string;
  uptime_s: number;
  sessions: number;
  users: number;
  channels: number;
  subscriptions: number;
  /** Counters for rates: messages sent and received since the start. */
  messages_sent: number;
  messages_received: number;
  /** Resident memory in bytes. */
  memory_rss: number;
}

/** The messages nodes exchange on the control topics. @internal */
export type ControlMessage =
  | { t: 'announce'; origin: string; node: NodeInfo }
  | { t: 'disconnect'; origin: string; target: SessionSelector; code: number; reason: string }
  | { t: 'subscribe'; origin: string; target: SessionSelector; channel: string }
  | { t: 'unsubscribe'; origin: string; target: SessionSelector; channel: string }
  | {
      t: 'query';
      origin: string;
      id: string;
      what: 'channels' | 'info';
      pattern?: string;
      tenantId?: string | null;
    }
  | { t: 'reply'; origin: string; id: string; result: unknown };

/** The topic every node subscribes for control messages. @internal */
export const CONTROL_TOPIC = 'control';

/** The topic a node receives replies to its queries on. @internal */
export function nodeTopic(nodeId: string): string {
  return `node:${nodeId}`;
}

const KINDS = new Set(['announce', 'disconnect', 'subscribe', 'unsubscribe', 'query', 'reply']);

/** Encodes a control message. @internal */
export function encodeControl(message: ControlMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

/** Decodes a control message; throws on anything that is not one. @internal */
export function decodeControl(payload: Uint8Array): ControlMessage {
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  const m = safeJsonParse(text) as Record<string, unknown> | null;
  if (
    m === null ||
    typeof m !== 'object' ||
    typeof m.t !== 'string' ||
    !KINDS.has(m.t) ||
    typeof m.origin !== 'string'
  ) {
    throw new TypeError('a control message needs a known "t" and an "origin"');
  }
  if (
    (m.t === 'disconnect' || m.t === 'subscribe' || m.t === 'unsubscribe') &&
    (m.target === null || typeof m.target !== 'object')
  ) {
    throw new TypeError(`a ${m.t} control message needs a target`);
  }
  return m as unknown as ControlMessage;
}

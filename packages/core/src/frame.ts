import { ErrorCode } from './constants';
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth } from './json-depth';
import { ProtocolError } from './protocol-error';
import { safeJsonParse } from './safe-json-parse';

/** A request id: a string or an integer, echoed in the reply. */
export type FrameId = string | number;

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A frame as it travels in either direction: one JSON object (protocol.md, "Frames"). */
export interface Frame {
  /** What the frame is. */
  type: string;
  /** Client-chosen request id; the reply carries the same id. */
  id?: FrameId;
  /** The channel as the client names it. */
  channel?: string;
  /** The payload. */
  data?: unknown;
  /** Position in a channel's history, where history is on. */
  offset?: number;
  /** For `publish`: the delivered message type. */
  event?: string;
  /** Unknown fields are kept but ignored. */
  [field: string]: unknown;
}

/** The longest request id string the gateway echoes. */
export const MAX_ID_LENGTH = 128;
/** The longest frame type. */
export const MAX_TYPE_LENGTH = 100;

/**
 * Turns one inbound text into a {@link Frame}, or throws a `bad_request` {@link FrameError}
 * that says what was wrong: not JSON, not an object, an invalid `id`, nested deeper than
 * `maxDepth` levels (the frame object is level 1), an invalid `type` or `channel`. When the
 * text was an object with a valid id, the error carries it in `requestId` so the reply can
 * echo it. `__proto__` and `constructor.prototype` keys are removed (see `safeJsonParse`).
 */
export function parseFrame(text: string, maxDepth: number = DEFAULT_MAX_JSON_DEPTH): Frame {
  let value: unknown;
  try {
    value = safeJsonParse(text);
  } catch {
    throw new FrameError('the frame is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FrameError(`the frame must be a JSON object, got ${describe(value)}`);
  }
  const frame = value as Record<string, unknown>;
  const id = frame.id;
  let validId: FrameId | undefined;
  if (id !== undefined && id !== null) {
    if (typeof id === 'string' ? id.length > MAX_ID_LENGTH : !Number.isSafeInteger(id)) {
      throw new FrameError(
        `"id" must be a string of at most ${MAX_ID_LENGTH} characters or an integer, got ${describe(id)}`,
      );
    }
    validId = id as FrameId;
  }
  if (id === null) delete frame.id;
  if (exceedsJsonDepth(text, frame, maxDepth)) {
    throw new FrameError(`the frame nests deeper than ${maxDepth} levels`, validId);
  }
  const type = frame.type;
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_LENGTH) {
    throw new FrameError(
      `"type" must be a string of 1 to ${MAX_TYPE_LENGTH} characters, got ${describe(type)}`,
      validId,
    );
  }
  if (frame.channel !== undefined && typeof frame.channel !== 'string') {
    throw new FrameError(`"channel" must be a string, got ${describe(frame.channel)}`, validId);
  }
  return frame as Frame;
}

/** A `bad_request` refusal of a frame that could not be read as a frame. */
export class FrameError extends ProtocolError {
  /** The frame's id when it had a valid one, so that the error can echo it. */
  readonly requestId: FrameId | undefined;

  constructor(message: string, requestId?: FrameId) {
    super(ErrorCode.BadRequest, message);
    this.requestId = requestId;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? 'a long string' : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** Serializes an `error` reply. */
export function errorFrame(code: string, message: string, id?: FrameId, retryAfterMs?: number): string {
  const data: Record<string, unknown> = { code, message };
  if (retryAfterMs !== undefined) data.retry_after_ms = Math.max(0, Math.ceil(retryAfterMs));
  return JSON.stringify(id === undefined ? { type: 'error', data } : { type: 'error', id, data });
}

/**
 * Serializes a publish `ack`, `{"type":"ack","id":…,"data":{"channel":…,"offset"?:…}}`: the
 * same text as `JSON.stringify` of that object, built without one (every client publish is
 * answered with it).
 */
export function publishAckText(id: FrameId, channel: string, offset?: number): string {
  const position = offset === undefined ? '' : `,"offset":${offset}`;
  return `{"type":"ack","id":${JSON.stringify(id)},"data":{"channel":${JSON.stringify(channel)}${position}}}`;
}

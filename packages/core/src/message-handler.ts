import type { Frame, FrameId } from './frame';
import type { WebSocketGateway } from './gateway';
import type { WebSocketSession } from './session';

/** What a message handler gets besides the session and the payload. */
export interface MessageHandlerContext {
  /** The frame's id, if it had one. */
  readonly id: FrameId | undefined;
  /** The frame's type. */
  readonly type: string;
  /** The whole frame. */
  readonly frame: Frame;
  /** The gateway. */
  readonly gateway: WebSocketGateway;
  /**
   * Sends the `ack` for this frame now, with `data`. Without a call, the handler's return value
   * is the ack's data. Only the first reply counts; frames without an id get no ack.
   */
  reply(data: unknown): void;
}

/**
 * Handles one custom frame type. Return the ack's data (or call `ctx.reply`); throw a
 * `ProtocolError` to answer with an `error` frame of that code. Frames of one session are
 * handled one at a time, in order.
 */
export type MessageHandler = (
  session: WebSocketSession,
  data: unknown,
  ctx: MessageHandlerContext,
) => unknown | Promise<unknown>;

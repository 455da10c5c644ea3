export {
  CloseCode,
  CloseReason,
  NO_RECONNECT_CLOSE_CODES,
  shouldReconnect,
} from './close-codes';
export { ErrorCode } from './error-codes';
export {
  FrameType,
  isServerFrameType,
  RESERVED_CLIENT_TYPES,
  type ReservedClientType,
  SERVER_FRAME_TYPES,
  type ServerFrameType,
  V1_1_CLIENT_TYPES,
  type V11ClientType,
} from './frame-types';
export type * from './frames';
export {
  CHANNEL_NAME_PATTERN,
  DEFAULT_EVENT,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION,
  EVENT_NAME_PATTERN,
  isValidChannelName,
  isValidEventName,
  isValidTenantId,
  MAX_CHANNEL_LENGTH,
  MAX_EVENT_LENGTH,
  MAX_ID_LENGTH,
  MAX_TYPE_LENGTH,
  TENANT_CHANNEL_PREFIX,
  TENANT_ID_PATTERN,
} from './limits';
export { BEARER_SUBPROTOCOL_PREFIX, PROTOCOL_VERSION, SUBPROTOCOL } from './version';

import * as protocol from '@dotmac-ws/protocol';
import { describe, expect, it } from 'vitest';
import { TENANT_CHANNEL_PREFIX } from '../src/channel-name';
import { MAX_ID_LENGTH, MAX_TYPE_LENGTH } from '../src/frame';
import * as core from '../src/index';

// Core's protocol constants come from @dotmac-ws/protocol; its own name rules must agree with it.
describe("core's protocol constants", () => {
  it('keep their public names and values', () => {
    expect(core.PROTOCOL_VERSION).toBe(1);
    expect(core.SUBPROTOCOL).toBe('dotmac.v1');
    expect(core.BEARER_SUBPROTOCOL_PREFIX).toBe('bearer.');
    expect(core.CloseCode).toEqual({
      Normal: 1000,
      GoingAway: 1001,
      InvalidPayload: 1007,
      MessageTooBig: 1009,
      InternalError: 1011,
      Unauthorized: 4401,
      Forbidden: 4403,
      SlowConsumer: 4408,
      RateLimited: 4429,
    });
    expect(core.CloseReason[4408]).toBe('slow_consumer');
    expect(core.ErrorCode.BackendUnavailable).toBe('backend_unavailable');
    expect(core.ErrorCode.PresenceFull).toBe('presence_full');
    expect([...core.SERVER_FRAME_TYPES]).toEqual([...protocol.SERVER_FRAME_TYPES]);
    expect([...core.RESERVED_CLIENT_TYPES]).toEqual([
      ...protocol.RESERVED_CLIENT_TYPES,
      ...protocol.V1_1_CLIENT_TYPES,
    ]);
    expect(core.CloseCode).toBe(protocol.CloseCode);
    expect(core.ErrorCode).toBe(protocol.ErrorCode);
  });

  it('name rules and limits agree with the protocol package', () => {
    expect(core.MAX_CHANNEL_LENGTH).toBe(protocol.MAX_CHANNEL_LENGTH);
    expect(TENANT_CHANNEL_PREFIX).toBe(protocol.TENANT_CHANNEL_PREFIX);
    expect(MAX_ID_LENGTH).toBe(protocol.MAX_ID_LENGTH);
    expect(MAX_TYPE_LENGTH).toBe(protocol.MAX_TYPE_LENGTH);
    expect(core.DEFAULTS.maxMessageBytes).toBe(protocol.DEFAULT_MAX_MESSAGE_BYTES);
    expect(core.DEFAULTS.maxSubscriptionsPerSession).toBe(protocol.DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION);
    const samples = [
      'a',
      'news',
      'room:42/x@y_z-w.v=u',
      'x'.repeat(200),
      'x'.repeat(201),
      '',
      'a b',
      'a*',
      'a>',
      'a:b',
      'a=b',
      'é',
    ];
    for (const name of samples) {
      expect(core.isValidChannelName(name), name).toBe(protocol.isValidChannelName(name));
      expect(core.isValidTenantId(name), name).toBe(protocol.isValidTenantId(name));
      expect(core.isValidEventName(name), name).toBe(protocol.isValidEventName(name));
    }
  });
});

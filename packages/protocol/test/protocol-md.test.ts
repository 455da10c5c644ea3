import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BEARER_SUBPROTOCOL_PREFIX,
  CHANNEL_NAME_PATTERN,
  CloseCode,
  CloseReason,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION,
  ErrorCode,
  FrameType,
  isServerFrameType,
  isValidChannelName,
  isValidEventName,
  isValidTenantId,
  MAX_CHANNEL_LENGTH,
  MAX_ID_LENGTH,
  MAX_TYPE_LENGTH,
  NO_RECONNECT_CLOSE_CODES,
  PROTOCOL_VERSION,
  RESERVED_CLIENT_TYPES,
  SERVER_FRAME_TYPES,
  SUBPROTOCOL,
  shouldReconnect,
  V1_1_CLIENT_TYPES,
} from '../src/index';

// The project's copy of the normative spec: the values below are pinned to its text.
const spec = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

describe('the constants match docs/protocol.md', () => {
  it('names version 1 and the dotmac.v1 subprotocol', () => {
    expect(PROTOCOL_VERSION).toBe(1);
    expect(spec).toContain('"protocol":1');
    expect(SUBPROTOCOL).toBe('dotmac.v1');
    expect(spec).toContain('the server accepts `dotmac.v1` when offered');
    expect(BEARER_SUBPROTOCOL_PREFIX).toBe('bearer.');
    expect(spec).toContain('subprotocol `bearer.<jwt>`');
  });

  it('has exactly the close codes and reason texts of the "Close codes" table', () => {
    const section = spec.slice(spec.indexOf('## Close codes'), spec.indexOf('## Rate limits'));
    const rows = [...section.matchAll(/^\| (\d{4}) \| (\w+) \|/gm)].map((m) => [Number(m[1]), m[2]]);
    expect(rows).toHaveLength(9);
    expect(Object.entries(CloseReason).map(([code, reason]) => [Number(code), reason])).toEqual(rows);
    expect(Object.values(CloseCode)).toEqual(rows.map(([code]) => code));
  });

  it('tells a client to reconnect after every close code except 4401 and 4403', () => {
    expect(spec).toContain('after every code except 4401 and 4403');
    expect(NO_RECONNECT_CLOSE_CODES).toEqual([4401, 4403]);
    for (const code of Object.values(CloseCode))
      expect(shouldReconnect(code), String(code)).toBe(code !== 4401 && code !== 4403);
    expect(shouldReconnect(1006)).toBe(true);
    expect(shouldReconnect(4000)).toBe(true);
  });

  it('has every error code the spec names, v1 and v1.1, and no other', () => {
    expect(Object.values(ErrorCode).sort()).toEqual(
      [
        'auth_failed',
        'backend_unavailable',
        'bad_request',
        'forbidden',
        'internal_error',
        'invalid_channel',
        'not_available',
        'presence_full',
        'proxy_unavailable',
        'rate_limited',
        'too_many_subscriptions',
        'unauthenticated',
        'unknown_type',
      ].sort(),
    );
    for (const code of Object.values(ErrorCode)) expect(spec, code).toContain(`\`${code}\``);
  });

  it('lists the server frame types, v1.1 pushes included, and the reserved client types', () => {
    expect([...SERVER_FRAME_TYPES]).toEqual([
      'welcome',
      'ack',
      'error',
      'pong',
      'auth_expiring',
      'subscribed',
      'unsubscribed',
      'join',
      'leave',
    ]);
    for (const type of ['subscribed', 'unsubscribed', 'join', 'leave'])
      expect(spec).toContain(`{"type":"${type}","channel":…}`);
    expect([...RESERVED_CLIENT_TYPES]).toEqual(['auth', 'subscribe', 'unsubscribe', 'publish', 'ping']);
    for (const type of RESERVED_CLIENT_TYPES) expect(spec).toContain(`| \`${type}\``);
    expect([...V1_1_CLIENT_TYPES]).toEqual(['history', 'presence', 'presence_stats']);
    const named = new Set<string>([...SERVER_FRAME_TYPES, ...RESERVED_CLIENT_TYPES, ...V1_1_CLIENT_TYPES]);
    expect(new Set(Object.values(FrameType))).toEqual(named);
    expect(isServerFrameType('leave')).toBe(true);
    expect(isServerFrameType('message')).toBe(false);
    expect(isServerFrameType('__proto__')).toBe(false);
  });

  it('states the limits the spec names', () => {
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(65536);
    expect(spec).toContain('`max_message_bytes` (default 64 KiB)');
    expect(DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION).toBe(128);
    expect(spec).toContain('`max_subscriptions_per_session` channels (default 128)');
    expect(MAX_CHANNEL_LENGTH).toBe(200);
    expect(spec).toContain('Names: 1-200 characters of `A-Z a-z 0-9 _ - . : @ / =`');
    expect(MAX_ID_LENGTH).toBe(128);
    expect(MAX_TYPE_LENGTH).toBe(100);
  });
});

describe('name rules', () => {
  it('accepts channel names of 1-200 characters of A-Z a-z 0-9 _ - . : @ / =', () => {
    expect(isValidChannelName('a')).toBe(true);
    expect(isValidChannelName('room:42/chat@x_y-z.w=v')).toBe(true);
    expect(isValidChannelName('x'.repeat(200))).toBe(true);
    for (const bad of ['', 'x'.repeat(201), 'a b', 'a*', 'a>', 'é', 'a\n', 42, null, undefined])
      expect(isValidChannelName(bad), JSON.stringify(bad)).toBe(false);
    expect(CHANNEL_NAME_PATTERN.test('news')).toBe(true);
  });

  it('accepts tenant ids with the channel characters except ":"', () => {
    expect(isValidTenantId('acme-1.eu@x/y=z')).toBe(true);
    expect(isValidTenantId('acme:eu')).toBe(false);
    expect(isValidTenantId('')).toBe(false);
  });

  it('accepts events of 1-100 characters of A-Z a-z 0-9 _ - . : @ / (no "=")', () => {
    expect(isValidEventName('chat.message:v1@x/y')).toBe(true);
    expect(isValidEventName('x'.repeat(100))).toBe(true);
    expect(isValidEventName('x'.repeat(101))).toBe(false);
    expect(isValidEventName('a=b')).toBe(false);
    expect(isValidEventName('')).toBe(false);
  });
});

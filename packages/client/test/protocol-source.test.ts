import { readFileSync } from 'node:fs';
import * as protocol from '@dotmac-ws/protocol';
import { describe, expect, it } from 'vitest';
import * as client from '../src/index';

describe("the client's protocol constants", () => {
  it('are the ones of @dotmac-ws/protocol, plus the local close code 1006', () => {
    expect(client.ErrorCode).toBe(protocol.ErrorCode);
    expect(client.ErrorCode.BackendUnavailable).toBe('backend_unavailable');
    expect(client.SERVER_FRAME_TYPES).toBe(protocol.SERVER_FRAME_TYPES);
    expect(client.SUBPROTOCOL).toBe(protocol.SUBPROTOCOL);
    expect(client.PROTOCOL_VERSION).toBe(protocol.PROTOCOL_VERSION);
    expect(client.BEARER_SUBPROTOCOL_PREFIX).toBe(protocol.BEARER_SUBPROTOCOL_PREFIX);
    expect(client.CloseCode).toEqual({ ...protocol.CloseCode, Abnormal: 1006 });
  });

  it('are inlined in the ESM bundle, which imports nothing (browsers load it as it is)', () => {
    const bundle = readFileSync(new URL('../dist/index.js', import.meta.url), 'utf8');
    expect(bundle).not.toMatch(/^\s*import\s/m);
    expect(bundle).not.toContain('@dotmac-ws/protocol');
    expect(bundle).toContain('"backend_unavailable"');
  });
});

import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { jwtAuthenticator } from '../src/index';
import { SECRET, sign, startGateway } from './helpers';

describe('broadcasts to roles and permissions with identities from real tokens', () => {
  it('reach exactly the sessions whose token holds the role or permission', async () => {
    const { gateway, url } = await startGateway({ authenticator: jwtAuthenticator({ secret: SECRET }) });
    const people = {
      alice: { roles: ['reader'], permissions: ['chat:read'] },
      bob: { roles: ['admin', 'reader'], permissions: ['admin:write'] },
      // Space-separated claims (OAuth `scope` style) count the same.
      carol: { roles: 'support', permissions: 'chat:read tickets:write' },
      dave: {},
    } as const;
    const clients: Record<string, TestClient> = {};
    for (const [name, claims] of Object.entries(people)) {
      const token = sign({ sub: name, ...claims });
      clients[name] = await TestClient.open(url, { headers: { Authorization: `Bearer ${token}` } });
      await clients[name]!.welcome();
    }
    // One connection that authenticates in-band instead.
    const erin = await TestClient.open(url);
    await erin.welcome();
    await erin.request({ type: 'auth', data: { token: sign({ sub: 'erin', roles: ['admin'] }) } });
    clients.erin = erin;
    const anonymous = await TestClient.open(url);
    await anonymous.welcome();
    clients.anonymous = anonymous;

    const sent = {
      admin: await gateway.broadcastToRole('admin', 'to_role', { role: 'admin' }),
      reader: await gateway.broadcastToRole('reader', 'to_role', { role: 'reader' }),
      support: await gateway.broadcastToRole('support', 'to_role', { role: 'support' }),
      nobody: await gateway.broadcastToRole('auditor', 'to_role', { role: 'auditor' }),
      chatRead: await gateway.broadcastToPermission('chat:read', 'to_permission', { p: 'chat:read' }),
      adminWrite: await gateway.broadcastToPermission('admin:write', 'to_permission', { p: 'admin:write' }),
    };
    expect(sent).toEqual({ admin: 2, reader: 2, support: 1, nobody: 0, chatRead: 2, adminWrite: 1 });
    // A last broadcast to everyone marks the end: whatever a client got before it is all it gets.
    await gateway.broadcastToAll('done', null);
    const got: Record<string, unknown[]> = {};
    for (const [name, c] of Object.entries(clients)) {
      await c.waitFor((f) => f.type === 'done', 3000, `done at ${name}`);
      got[name] = c.frames
        .filter((f) => f.type === 'to_role' || f.type === 'to_permission')
        .map((f) => f.data);
    }
    expect(got).toEqual({
      alice: [{ role: 'reader' }, { p: 'chat:read' }],
      bob: [{ role: 'admin' }, { role: 'reader' }, { p: 'admin:write' }],
      carol: [{ role: 'support' }, { p: 'chat:read' }],
      dave: [],
      erin: [{ role: 'admin' }],
      anonymous: [],
    });
  });
});

import { describe, expect, it } from 'vitest';
import { type IdentitySnapshot, SessionRegistry } from '../src/session-registry';
import { TopicInterest } from '../src/topic-interest';
import { RecordingBackend } from './recording-backend';

/** A registry member whose identity the test changes. */
class Member {
  identity: IdentitySnapshot;
  constructor(
    readonly sessionId: string,
    identity: Partial<IdentitySnapshot> = {},
  ) {
    this.identity = { userId: null, tenantId: null, roles: [], permissions: [], ...identity };
  }
  snapshot(): IdentitySnapshot {
    return { ...this.identity };
  }
  /** Changes the identity and re-indexes, as a connection's `applyIdentity` does. */
  become(registry: SessionRegistry<Member>, next: Partial<IdentitySnapshot>): void {
    const before = this.snapshot();
    this.identity = { ...this.identity, ...next };
    registry.reindex(this, before);
  }
}

function setup() {
  const backend = new RecordingBackend();
  const interest = new TopicInterest(backend, () => undefined);
  return { backend, interest, registry: new SessionRegistry<Member>(interest) };
}

describe('session registry reindexing', () => {
  it('moves a session between user, tenant, role and permission indexes when its identity changes', async () => {
    const { backend, interest, registry } = setup();
    const m = new Member('s1', { tenantId: 't1' });
    registry.add(m);
    expect([...registry.byTenant('t1')]).toEqual([m]);
    expect(registry.userCount).toBe(0);

    m.become(registry, { userId: 'u1', roles: ['admin', 'ops'], permissions: ['read'] });
    expect([...registry.byUser('u1')]).toEqual([m]);
    expect([...registry.byRole('admin')]).toEqual([m]);
    expect([...registry.byPermission('read')]).toEqual([m]);

    m.become(registry, { tenantId: 't2', roles: ['ops'], permissions: ['write'] });
    expect([...registry.byTenant('t1')]).toEqual([]);
    expect([...registry.byTenant('t2')]).toEqual([m]);
    expect([...registry.byRole('admin')]).toEqual([]);
    expect([...registry.byRole('ops')]).toEqual([m]);
    expect([...registry.byPermission('read')]).toEqual([]);
    expect([...registry.byPermission('write')]).toEqual([m]);
    expect(registry.tenantCounts()).toEqual({ t2: 1 });

    await interest.settled();
    // The user stayed: its topic was never dropped and taken again.
    expect(backend.ops).toEqual(['+tenant:t1', '+user:u1', '+tenant:t2', '-tenant:t1']);
    expect(backend.subscribed('user:u1')).toBe(true);
    expect(backend.subscribed('tenant:t1')).toBe(false);
  });

  it('keeps a user topic while another session of the user remains, and drops it with the last', async () => {
    const { backend, interest, registry } = setup();
    const a = new Member('a', { userId: 'u' });
    const b = new Member('b', { userId: 'u' });
    registry.add(a);
    registry.add(b);
    a.become(registry, { userId: 'v' });
    expect([...registry.byUser('u')]).toEqual([b]);
    expect([...registry.byUser('v')]).toEqual([a]);
    expect(registry.remove(b)).toBe(true);
    expect(registry.remove(b)).toBe(false);
    await interest.settled();
    expect(backend.ops).toEqual(['+user:u', '+user:v', '-user:u']);
    expect(registry.size).toBe(1);
    expect(registry.userCount).toBe(1);
  });

  it('ignores a reindex of a session that is not registered (it closed meanwhile)', async () => {
    const { backend, interest, registry } = setup();
    const m = new Member('gone');
    m.become(registry, { userId: 'u', tenantId: 't' });
    await interest.settled();
    expect([...registry.byUser('u')]).toEqual([]);
    expect(backend.ops).toEqual([]);
  });
});

import type { IdentitySnapshot, WebSocketSession } from './session';

type Index = Map<string, Set<WebSocketSession>>;
const NONE: ReadonlySet<WebSocketSession> = new Set();

/**
 * Every open session of this node, indexed by id, user, tenant, role and permission.
 * `onFirst`/`onLast` report when a user or tenant gains its first or loses its last local
 * session, which is when this node needs or stops needing that backend topic.
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, WebSocketSession>();
  readonly #byUser: Index = new Map();
  readonly #byTenant: Index = new Map();
  readonly #byRole: Index = new Map();
  readonly #byPermission: Index = new Map();
  readonly #onFirst: (kind: 'user' | 'tenant', key: string) => void;
  readonly #onLast: (kind: 'user' | 'tenant', key: string) => void;

  constructor(hooks: {
    onFirst: (kind: 'user' | 'tenant', key: string) => void;
    onLast: (kind: 'user' | 'tenant', key: string) => void;
  }) {
    this.#onFirst = hooks.onFirst;
    this.#onLast = hooks.onLast;
  }

  /** Number of open sessions. */
  get size(): number {
    return this.#sessions.size;
  }
  /** Number of distinct users with a session here. */
  get userCount(): number {
    return this.#byUser.size;
  }
  /** Number of distinct tenants with a session here. */
  get tenantCount(): number {
    return this.#byTenant.size;
  }

  add(session: WebSocketSession): void {
    this.#sessions.set(session.sessionId, session);
    this.#index(session.snapshot(), session);
  }

  remove(session: WebSocketSession): boolean {
    if (!this.#sessions.delete(session.sessionId)) return false;
    this.#unindex(session.snapshot(), session);
    return true;
  }

  /** Moves `session` from the indexes of `before` to those of its current identity. */
  reindex(session: WebSocketSession, before: IdentitySnapshot): void {
    if (!this.#sessions.has(session.sessionId)) return;
    // Index first, then unindex, so that a user who stays does not lose and regain its topic.
    this.#index(session.snapshot(), session);
    this.#unindex(before, session, session.snapshot());
  }

  get(sessionId: string): WebSocketSession | undefined {
    return this.#sessions.get(sessionId);
  }
  all(): IterableIterator<WebSocketSession> {
    return this.#sessions.values();
  }
  byUser(userId: string): ReadonlySet<WebSocketSession> {
    return this.#byUser.get(userId) ?? NONE;
  }
  byTenant(tenantId: string): ReadonlySet<WebSocketSession> {
    return this.#byTenant.get(tenantId) ?? NONE;
  }
  byRole(role: string): ReadonlySet<WebSocketSession> {
    return this.#byRole.get(role) ?? NONE;
  }
  byPermission(permission: string): ReadonlySet<WebSocketSession> {
    return this.#byPermission.get(permission) ?? NONE;
  }
  /** Session counts per tenant (sessions without a tenant are not counted). */
  tenantCounts(): Record<string, number> {
    // fromEntries defines own properties: a tenant named `__proto__` is counted like any other
    // (an assignment would try to set the object's prototype and lose it).
    return Object.fromEntries([...this.#byTenant].map(([tenant, set]) => [tenant, set.size]));
  }

  #index(id: IdentitySnapshot, s: WebSocketSession): void {
    if (id.userId !== null && add(this.#byUser, id.userId, s)) this.#onFirst('user', id.userId);
    if (id.tenantId !== null && add(this.#byTenant, id.tenantId, s)) this.#onFirst('tenant', id.tenantId);
    for (const r of id.roles) add(this.#byRole, r, s);
    for (const p of id.permissions) add(this.#byPermission, p, s);
  }

  #unindex(id: IdentitySnapshot, s: WebSocketSession, keep?: IdentitySnapshot): void {
    if (id.userId !== null && id.userId !== keep?.userId && del(this.#byUser, id.userId, s))
      this.#onLast('user', id.userId);
    if (id.tenantId !== null && id.tenantId !== keep?.tenantId && del(this.#byTenant, id.tenantId, s)) {
      this.#onLast('tenant', id.tenantId);
    }
    for (const r of id.roles) if (!keep?.roles.includes(r)) del(this.#byRole, r, s);
    for (const p of id.permissions) if (!keep?.permissions.includes(p)) del(this.#byPermission, p, s);
  }
}

/** Adds; true when the key's set was created (its first member). */
function add(index: Index, key: string, s: WebSocketSession): boolean {
  const set = index.get(key);
  if (set === undefined) {
    index.set(key, new Set([s]));
    return true;
  }
  set.add(s);
  return false;
}

/** Deletes; true when the key's set became empty (its last member left). */
function del(index: Index, key: string, s: WebSocketSession): boolean {
  const set = index.get(key);
  if (set === undefined || !set.delete(s)) return false;
  if (set.size > 0) return false;
  index.delete(key);
  return true;
}

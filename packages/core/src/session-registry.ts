import { tenantTopic, userTopic } from './broadcast-envelope';
import { MemberIndex } from './member-index';
import type { TopicInterest } from './topic-interest';

/** A member's identity at one moment, for (re)indexing. @internal */
export interface IdentitySnapshot {
  userId: string | null;
  tenantId: string | null;
  roles: readonly string[];
  permissions: readonly string[];
}

/** What the registry indexes: one connection. @internal */
export interface Indexed {
  readonly sessionId: string;
  snapshot(): IdentitySnapshot;
}

/**
 * Every open connection of this node, indexed by id, user, tenant, role and permission. A user
 * or tenant that gains its first local connection makes the node need its backend topic; its
 * last one leaving drops it.
 */
export class SessionRegistry<M extends Indexed> {
  readonly #members = new Map<string, M>();
  // Most users have one session here: an index holds a lone member without a set around it.
  readonly #byUser = new MemberIndex<string, M>();
  readonly #byTenant = new MemberIndex<string, M>();
  readonly #byRole = new MemberIndex<string, M>();
  readonly #byPermission = new MemberIndex<string, M>();
  readonly #interest: TopicInterest;

  constructor(interest: TopicInterest) {
    this.#interest = interest;
  }

  /** Number of open sessions. */
  get size(): number {
    return this.#members.size;
  }
  /** Number of distinct users with a session here. */
  get userCount(): number {
    return this.#byUser.size;
  }
  /** Number of distinct tenants with a session here. */
  get tenantCount(): number {
    return this.#byTenant.size;
  }

  add(member: M): void {
    this.#members.set(member.sessionId, member);
    this.#index(member.snapshot(), member);
  }

  /** Removes `member`; false when it was not registered. */
  remove(member: M): boolean {
    if (!this.#members.delete(member.sessionId)) return false;
    this.#unindex(member.snapshot(), member);
    return true;
  }

  /** Moves `member` from the indexes of `before` to those of its current identity. */
  reindex(member: M, before: IdentitySnapshot): void {
    if (!this.#members.has(member.sessionId)) return;
    const now = member.snapshot();
    // Index first, then unindex, so that a user who stays does not lose and regain its topic.
    this.#index(now, member);
    this.#unindex(before, member, now);
  }

  get(sessionId: string): M | undefined {
    return this.#members.get(sessionId);
  }
  all(): IterableIterator<M> {
    return this.#members.values();
  }
  byUser(userId: string): Iterable<M> {
    return this.#byUser.get(userId);
  }
  byTenant(tenantId: string): Iterable<M> {
    return this.#byTenant.get(tenantId);
  }
  byRole(role: string): Iterable<M> {
    return this.#byRole.get(role);
  }
  byPermission(permission: string): Iterable<M> {
    return this.#byPermission.get(permission);
  }
  /** Session counts per tenant (sessions without a tenant are not counted). */
  tenantCounts(): Record<string, number> {
    // fromEntries defines own properties: a tenant named `__proto__` is counted like any other
    // (an assignment would try to set the object's prototype and lose it).
    return Object.fromEntries(this.#byTenant.counts());
  }

  #index(id: IdentitySnapshot, m: M): void {
    if (id.userId !== null && this.#byUser.add(id.userId, m)) void this.#interest.need(userTopic(id.userId));
    if (id.tenantId !== null && this.#byTenant.add(id.tenantId, m)) {
      void this.#interest.need(tenantTopic(id.tenantId));
    }
    for (const r of id.roles) this.#byRole.add(r, m);
    for (const p of id.permissions) this.#byPermission.add(p, m);
  }

  #unindex(id: IdentitySnapshot, m: M, keep?: IdentitySnapshot): void {
    if (id.userId !== null && id.userId !== keep?.userId && this.#byUser.delete(id.userId, m)) {
      this.#interest.drop(userTopic(id.userId));
    }
    if (id.tenantId !== null && id.tenantId !== keep?.tenantId && this.#byTenant.delete(id.tenantId, m)) {
      this.#interest.drop(tenantTopic(id.tenantId));
    }
    for (const r of id.roles) if (!keep?.roles.includes(r)) this.#byRole.delete(r, m);
    for (const p of id.permissions) if (!keep?.permissions.includes(p)) this.#byPermission.delete(p, m);
  }
}

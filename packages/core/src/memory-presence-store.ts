import type { PresenceAddResult, PresenceMember, PresenceStats, PresenceStore } from './presence-store';

interface Entry {
  member: PresenceMember;
  expiresAt: number;
}

/**
 * Presence in this process: a map of members per channel, each with an expiry. Gateways of one
 * process that share a store behave as nodes of one cluster.
 *
 * @example
 * const gateway = new WebSocketGateway({ presence: new MemoryPresenceStore(), channelPolicy });
 */
export class MemoryPresenceStore implements PresenceStore {
  readonly name = 'memory';
  readonly #channels = new Map<string, Map<string, Entry>>();

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async add(channel: string, member: PresenceMember, ttlMs: number, max: number): Promise<PresenceAddResult> {
    const now = Date.now();
    let members = this.#channels.get(channel);
    const existing = members?.get(member.client);
    if (existing !== undefined && existing.expiresAt > now) {
      existing.expiresAt = now + ttlMs;
      return 'refreshed';
    }
    if (members !== undefined && this.#liveCount(members, now) >= max) return 'full';
    if (members === undefined) {
      members = new Map();
      this.#channels.set(channel, members);
    }
    members.set(member.client, { member: { ...member }, expiresAt: now + ttlMs });
    return 'added';
  }

  async remove(channel: string, client: string): Promise<boolean> {
    const members = this.#channels.get(channel);
    const entry = members?.get(client);
    if (members === undefined || entry === undefined) return false;
    members.delete(client);
    if (members.size === 0) this.#channels.delete(channel);
    // Stale or not: nobody sent its leave yet (prune did not return it).
    return true;
  }

  async refresh(channel: string, clients: readonly string[], ttlMs: number): Promise<void> {
    const members = this.#channels.get(channel);
    if (members === undefined) return;
    const now = Date.now();
    for (const c of clients) {
      const e = members.get(c);
      if (e !== undefined && e.expiresAt > now) e.expiresAt = now + ttlMs;
    }
  }

  async list(channel: string): Promise<Record<string, PresenceMember>> {
    const out: Record<string, PresenceMember> = {};
    const members = this.#channels.get(channel);
    if (members === undefined) return out;
    const now = Date.now();
    for (const [client, e] of members) if (e.expiresAt > now) out[client] = { ...e.member };
    return out;
  }

  async stats(channel: string): Promise<PresenceStats> {
    const members = this.#channels.get(channel);
    if (members === undefined) return { numClients: 0, numUsers: 0 };
    const now = Date.now();
    let numClients = 0;
    const users = new Set<string>();
    let anonymous = 0;
    for (const e of members.values()) {
      if (e.expiresAt <= now) continue;
      numClients++;
      if (e.member.user === null) anonymous++;
      else users.add(e.member.user);
    }
    return { numClients, numUsers: users.size + anonymous };
  }

  async prune(channel: string): Promise<PresenceMember[]> {
    const members = this.#channels.get(channel);
    if (members === undefined) return [];
    const now = Date.now();
    const gone: PresenceMember[] = [];
    for (const [client, e] of members) {
      if (e.expiresAt > now) continue;
      members.delete(client);
      gone.push(e.member);
    }
    if (members.size === 0) this.#channels.delete(channel);
    return gone;
  }

  #liveCount(members: Map<string, Entry>, now: number): number {
    let n = 0;
    for (const e of members.values()) if (e.expiresAt > now) n++;
    return n;
  }
}

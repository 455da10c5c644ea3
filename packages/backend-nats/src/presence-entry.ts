import type { PresenceMember } from '@dotmac-ws/core';

/**
 * A member as kept in KV: the member's fields, its expiry `x` (ms since the epoch) and `p` while
 * its `add` waits for a place under the channel's member limit (not listed, not counted).
 * @internal
 */
export interface PresenceEntry {
  c: string;
  u: string | null;
  n: string;
  j: number;
  i?: unknown;
  x: number;
  p?: 1;
}

/** The entry of `member`, living until `expiresAt`. @internal */
export function toEntry(member: PresenceMember, expiresAt: number, pending: boolean): PresenceEntry {
  const e: PresenceEntry = {
    c: member.client,
    u: member.user,
    n: member.node,
    j: member.joinedAt,
    x: expiresAt,
  };
  if (member.info !== undefined) e.i = member.info;
  if (pending) e.p = 1;
  return e;
}

/** The member an entry holds. @internal */
export function toMember(e: PresenceEntry): PresenceMember {
  const m: PresenceMember = { client: e.c, user: e.u, node: e.n, joinedAt: e.j };
  if (e.i !== undefined) m.info = e.i;
  return m;
}

/** Parses an entry; null for anything else (a damaged value is treated as absent). @internal */
export function parseEntry(data: Uint8Array): PresenceEntry | null {
  try {
    const v = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<PresenceEntry>;
    if (
      typeof v.c !== 'string' ||
      typeof v.n !== 'string' ||
      typeof v.j !== 'number' ||
      typeof v.x !== 'number'
    )
      return null;
    if (v.u !== null && typeof v.u !== 'string') return null;
    return v as PresenceEntry;
  } catch {
    return null;
  }
}

/** The counts of live members. @internal */
export function countMembers(members: Iterable<PresenceMember>): { numClients: number; numUsers: number } {
  let numClients = 0;
  let anonymous = 0;
  const users = new Set<string>();
  for (const m of members) {
    numClients++;
    if (m.user === null) anonymous++;
    else users.add(m.user);
  }
  return { numClients, numUsers: users.size + anonymous };
}

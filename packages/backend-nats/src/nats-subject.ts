import { createHash } from 'node:crypto';

/**
 * How gateway topics become NATS subjects.
 *
 * A topic is a gateway string (`channel:<internal name>`, `user:<id>`, `tenant:<id>`,
 * `broadcast`) that may hold `.`, `:`, `/`, `=`, `@` or — in user ids — anything at all. NATS
 * gives `.` (token separator), `*` and `>` (wildcards) and a leading `$` (system subjects)
 * a meaning, so no piece of a topic is ever put into a subject as it is. Every piece becomes one
 * token in which only `A-Z a-z 0-9 -` stand for themselves and every other UTF-8 byte is written
 * `_HH` (upper-case hex), `_` included. The encoding is injective and case-preserving: two
 * different topics never share a subject, and a subject never holds a wildcard or separator
 * that the topic brought.
 *
 * Layout (`P` is the subject prefix):
 *
 * | topic                              | subject                     |
 * |------------------------------------|-----------------------------|
 * | `channel:tenant:{t}:{name}`        | `P.chan.t.{t}.{name}`       |
 * | `channel:{name}` (any other)       | `P.chan.g.{name}`           |
 * | `user:{id}`                        | `P.user.{id}`               |
 * | `tenant:{id}`                      | `P.tenant.{id}`             |
 * | `broadcast`                        | `P.all`                     |
 * | anything else                      | `P.raw.{topic}`             |
 *
 * The tenant has a token of its own, so `P.chan.t.acme.>` is every channel of tenant `acme`
 * (for NATS permissions or for watching one tenant's traffic with `nats sub`).
 */

/** Encoded tokens longer than this are replaced by a hash (see {@link encodeToken}). */
export const MAX_TOKEN_LENGTH = 640;

const KEEP = /^[A-Za-z0-9-]$/;
/** A piece made only of characters that stand for themselves: its own token. */
const ALL_KEPT = /^[A-Za-z0-9-]+$/;
/** A lone surrogate: UTF-8 cannot hold it, so two such strings could share their bytes. */
const LONE_SURROGATE = /\p{Cs}/u;
const TENANT_CHANNEL = /^channel:tenant:([^:]+):(.+)$/s;

/**
 * Encodes one piece of a topic as one subject token: `A-Z a-z 0-9 -` as they are, every other
 * UTF-8 byte as `_HH`; the empty string as `_`. A token longer than {@link MAX_TOKEN_LENGTH}
 * (only possible for ids or topics far longer than a channel name), or a piece that is not
 * well-formed UTF-16, becomes `_H` and the SHA-256 of the piece in hex, which keeps subjects
 * within the server's control-line limit.
 *
 * @example encodeToken('a.b*') // 'a_2Eb_2A'
 */
export function encodeToken(piece: string): string {
  if (piece.length === 0) return '_';
  // The common case (a channel or user id of letters, digits and dashes) in one test.
  if (ALL_KEPT.test(piece)) return piece.length > MAX_TOKEN_LENGTH ? hashToken(piece) : piece;
  if (LONE_SURROGATE.test(piece)) return hashToken(piece);
  let out = '';
  for (const ch of piece) {
    if (KEEP.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) {
      out += `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out.length > MAX_TOKEN_LENGTH ? hashToken(piece) : out;
}

function hashToken(piece: string): string {
  // UTF-16 code units, not UTF-8: a lone surrogate hashes apart from the replacement character.
  return `_H${createHash('sha256').update(Buffer.from(piece, 'utf16le')).digest('hex')}`;
}

/**
 * Decodes a token made by {@link encodeToken}; null for a hashed token or text that no piece
 * encodes to.
 */
export function decodeToken(token: string): string | null {
  if (token === '_') return '';
  if (token.startsWith('_H')) return null;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; ) {
    const ch = token[i]!;
    if (ch === '_') {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
    } else if (KEEP.test(ch)) {
      bytes.push(ch.charCodeAt(0));
      i += 1;
    } else {
      return null;
    }
  }
  const text = Buffer.from(bytes).toString('utf8');
  // Bytes that are not UTF-8 were never produced by encodeToken.
  return encodeToken(text) === token ? text : null;
}

/** The NATS subject that carries `topic` under `prefix`. */
export function topicToSubject(prefix: string, topic: string): string {
  if (topic === 'broadcast') return `${prefix}.all`;
  const tenantChannel = topic.startsWith('channel:tenant:') ? TENANT_CHANNEL.exec(topic) : null;
  if (tenantChannel !== null) {
    return `${prefix}.chan.t.${encodeToken(tenantChannel[1]!)}.${encodeToken(tenantChannel[2]!)}`;
  }
  if (topic.startsWith('channel:')) return `${prefix}.chan.g.${encodeToken(topic.slice(8))}`;
  if (topic.startsWith('user:')) return `${prefix}.user.${encodeToken(topic.slice(5))}`;
  if (topic.startsWith('tenant:')) return `${prefix}.tenant.${encodeToken(topic.slice(7))}`;
  return `${prefix}.raw.${encodeToken(topic)}`;
}

/**
 * The topic a subject under `prefix` carries (the inverse of {@link topicToSubject}), or null
 * when the subject is not one this encoding makes or holds a hashed token. Handy for reading
 * `nats sub '{prefix}.>'` output.
 */
export function subjectToTopic(prefix: string, subject: string): string | null {
  if (!subject.startsWith(`${prefix}.`)) return null;
  const tokens = subject.slice(prefix.length + 1).split('.');
  const decoded = (t: string | undefined) => (t === undefined ? null : decodeToken(t));
  const [kind, ...rest] = tokens;
  let topic: string | null = null;
  if (kind === 'all' && rest.length === 0) topic = 'broadcast';
  else if (kind === 'chan' && rest[0] === 't' && rest.length === 3) {
    const tenant = decoded(rest[1]);
    const name = decoded(rest[2]);
    if (tenant !== null && name !== null) topic = `channel:tenant:${tenant}:${name}`;
  } else if (kind === 'chan' && rest[0] === 'g' && rest.length === 2) {
    const name = decoded(rest[1]);
    if (name !== null) topic = `channel:${name}`;
  } else if ((kind === 'user' || kind === 'tenant' || kind === 'raw') && rest.length === 1) {
    const id = decoded(rest[0]);
    if (id !== null) topic = kind === 'raw' ? id : `${kind}:${id}`;
  }
  // Only a subject that the topic encodes back to is its subject.
  return topic !== null && topicToSubject(prefix, topic) === subject ? topic : null;
}

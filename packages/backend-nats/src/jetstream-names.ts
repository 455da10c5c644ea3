import { createHash } from 'node:crypto';
import { encodeToken } from './nats-subject';

/**
 * Names of the JetStream streams, KV buckets, subjects and keys the stores use. A subject
 * prefix holds dots, which stream and bucket names may not: it is written with the same
 * escaping as subject tokens (`dotmac-ws.prod` -> `dotmac-ws_2Eprod`), so two prefixes never
 * share a name.
 * @internal
 */
export function jetStreamBaseName(subjectPrefix: string): string {
  return encodeToken(subjectPrefix);
}

/**
 * The subject holding a channel's history: `<prefix>.hist.<channel>`, the channel escaped as one
 * token ({@link encodeToken}), so no character of it (`.`, `*`, `>`, …) changes routing. The
 * backend's live subjects (`<prefix>.chan.…`, `.user.…`, `.tenant.…`, `.all`, `.raw.…`) never
 * start with `<prefix>.hist.`, so the history stream captures none of them.
 * @internal
 */
export function historySubject(subjectPrefix: string, channel: string): string {
  return `${subjectPrefix}.hist.${encodeToken(channel)}`;
}

/** The subjects of the history stream. @internal */
export function historySubjects(subjectPrefix: string): string {
  return `${subjectPrefix}.hist.*`;
}

/**
 * The JetStream message id of an idempotency key: one channel's, in one epoch, hashed so that
 * any key fits a header. @internal
 */
export function idempotencyMsgId(channel: string, epoch: string, key: string): string {
  return createHash('sha256').update(`${channel}\u0000${epoch}\u0000${key}`).digest('base64url');
}

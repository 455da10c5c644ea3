import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The shortest key `apiKeys` takes (what a guessed Bearer key would have to match). */
export const MIN_API_KEY_LENGTH = 16;

/** What an API key may call: `admin` every endpoint, `publish` only `/api/publish` and `/api/broadcast`. */
export type ApiKeyScope = 'admin' | 'publish';

/** One key of the HTTP API (several allow rotation: add the new one, move callers, remove the old). */
export interface ApiKeyOption {
  /** A name for logs (never the key itself): 1-64 characters of A-Z a-z 0-9 _ - . */
  id: string;
  /** The secret callers send as `Authorization: Bearer <key>`; at least 16 characters. */
  key: string;
  /** What it may call. @default 'admin' */
  scope?: ApiKeyScope;
}

/** A key as the gateway checks it. @internal */
export interface ResolvedApiKey {
  id: string;
  scope: ApiKeyScope;
  digest: Buffer;
}

/** The endpoints a `publish` key may call. */
export const PUBLISH_SCOPE_PATHS: ReadonlySet<string> = new Set(['/api/publish', '/api/broadcast']);

/**
 * Checks `apiKey` (one admin key, id `default`) and `apiKeys` together; pushes every problem
 * and returns the keys. @internal
 */
export function resolveApiKeys(apiKey: unknown, apiKeys: unknown, problems: string[]): ResolvedApiKey[] {
  const out: ResolvedApiKey[] = [];
  if (apiKey != null) {
    if (typeof apiKey === 'string' && apiKey.length > 0)
      out.push({ id: 'default', scope: 'admin', digest: digest(apiKey) });
  }
  if (apiKeys === undefined || apiKeys === null) return out;
  if (!Array.isArray(apiKeys)) {
    problems.push('apiKeys must be a list of { id, key, scope? }');
    return out;
  }
  const ids = new Set(out.map((k) => k.id));
  apiKeys.forEach((raw, i) => {
    const k = (raw ?? {}) as Record<string, unknown>;
    const at = `apiKeys[${i}]`;
    const before = problems.length;
    if (typeof k.id !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(k.id)) {
      problems.push(`${at}.id must be 1-64 characters of A-Z a-z 0-9 _ - .`);
    } else if (ids.has(k.id)) problems.push(`${at}.id "${k.id}" is used twice`);
    if (typeof k.key !== 'string' || k.key.length < MIN_API_KEY_LENGTH)
      problems.push(`${at}.key must be a string of at least ${MIN_API_KEY_LENGTH} characters`);
    if (k.scope !== undefined && k.scope !== 'admin' && k.scope !== 'publish') {
      problems.push(`${at}.scope must be 'admin' or 'publish'`);
    }
    if (problems.length > before) return;
    ids.add(k.id as string);
    out.push({
      id: k.id as string,
      scope: (k.scope as ApiKeyScope | undefined) ?? 'admin',
      digest: digest(k.key as string),
    });
  });
  return out;
}

/** The key `req` presents (`Authorization: Bearer <key>`), or null. Constant time per key. @internal */
export function presentedKey(keys: readonly ResolvedApiKey[], req: IncomingMessage): ResolvedApiKey | null {
  if (keys.length === 0) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (match?.[1] === undefined) return null;
  const given = digest(match[1]);
  let found: ResolvedApiKey | null = null;
  for (const k of keys) if (timingSafeEqual(given, k.digest) && found === null) found = k;
  return found;
}

/** SHA-256 of `secret`, one shot (no `Hash` object: about half the time of `createHash`, per request). */
function digest(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

import type { GatewayOptions } from '@dotmac-ws/core';
import type { EnvConfig } from './env-config';

/** One entry of the `apiKeys` gateway option (core does not export the type by name). */
export type ApiKeyOption = NonNullable<GatewayOptions['apiKeys']>[number];

/** What {@link apiKeysFromEnv} read: the keys, and what is wrong (never quoting a secret). */
export interface ApiKeysFromEnv {
  /** The `apiKeys` gateway option; core checks each id, key length and scope. */
  keys: ApiKeyOption[];
  /** Entries that are not `id:key` or `id:key:scope`, by position. */
  problems: string[];
}

/**
 * `API_KEYS` as the `apiKeys` option: comma-separated `id:key:scope` entries (`scope` is `admin`
 * or `publish`; without it, `admin`), e.g. `ops:<key>:admin,app:<key>:publish`. Problems name
 * the entry by position, never by its text: it holds a secret.
 */
export function apiKeysFromEnv(text: string | undefined): ApiKeysFromEnv {
  const keys: ApiKeyOption[] = [];
  const problems: string[] = [];
  const entries = (text ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  entries.forEach((entry, i) => {
    const parts = entry.split(':');
    const [id, key, scope] = parts;
    if (parts.length < 2 || parts.length > 3 || id === undefined || key === undefined) {
      problems.push(
        `API_KEYS entry ${i + 1} must be id:key or id:key:scope (scope admin or publish; no ':' or ',' in a key)`,
      );
      return;
    }
    keys.push({ id, key, ...(scope === undefined ? {} : { scope: scope as ApiKeyOption['scope'] }) });
  });
  return { keys, problems };
}

/**
 * True when the environment gives an admin key: `API_KEY`, or an `API_KEYS` entry of scope
 * `admin` (the default scope).
 */
export function hasAdminKey(env: EnvConfig, keys: readonly ApiKeyOption[]): boolean {
  return env.string('API_KEY') !== undefined || keys.some((k) => (k.scope ?? 'admin') === 'admin');
}

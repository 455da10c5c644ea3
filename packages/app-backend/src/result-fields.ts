import { isValidChannelName, isValidTenantId } from '@dotmac-ws/core';

/** The largest `meta` a connect result may attach to a session, as JSON. */
export const MAX_META_BYTES = 16 * 1024;

/** The longest user id, role or permission a result may name. */
const MAX_NAME_LENGTH = 200;

type Result = Readonly<Record<string, unknown>>;

/**
 * What is wrong with the identity fields of a connect or refresh result (`user`, `tenant`,
 * `roles`, `permissions`, `channels`, `expires_at`, `expired`, `meta`), or null when nothing
 * is. Fields a route does not read are not checked. @internal
 */
export function identityFieldProblem(result: Result): string | null {
  const { user, tenant, expires_at: expiresAt, expired, meta } = result;
  if (user !== undefined && (typeof user !== 'string' || user.length > MAX_NAME_LENGTH)) {
    return `result.user must be a string of at most ${MAX_NAME_LENGTH} characters`;
  }
  if (tenant !== undefined && tenant !== null && !isValidTenantId(tenant)) {
    return 'result.tenant must be a tenant id (channel-name characters without ":") or null';
  }
  for (const key of ['roles', 'permissions'] as const) {
    if (!isNameList(result[key])) return `result.${key} must be an array of strings`;
  }
  const channels = result.channels;
  if (channels !== undefined && (!Array.isArray(channels) || !channels.every(isValidChannelName))) {
    return 'result.channels must be an array of channel names';
  }
  if (expiresAt !== undefined && expiresAt !== null && !isPositiveInteger(expiresAt)) {
    return 'result.expires_at must be Unix seconds (a positive integer) or null';
  }
  if (expired !== undefined && typeof expired !== 'boolean') return 'result.expired must be true or false';
  if (meta !== undefined && Buffer.byteLength(JSON.stringify(meta)) > MAX_META_BYTES) {
    return `result.meta must be at most ${MAX_META_BYTES} bytes as JSON`;
  }
  return null;
}

function isNameList(value: unknown): boolean {
  return (
    value === undefined ||
    (Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length <= MAX_NAME_LENGTH))
  );
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** `result[key]` as a list of strings, or `fallback` when the result does not set it. @internal */
export function stringList(
  result: Result,
  key: string,
  fallback: readonly string[] | undefined,
): readonly string[] | undefined {
  const v = result[key];
  return Array.isArray(v) ? (v as string[]) : fallback;
}

/** The `expires_at` of a result in ms since the epoch; `fallback` when it is not set, null for `null`. @internal */
export function expiresAtMs(result: Result, fallback: number | null | undefined): number | null | undefined {
  const v = result.expires_at;
  if (v === undefined) return fallback;
  return v === null ? null : (v as number) * 1000;
}

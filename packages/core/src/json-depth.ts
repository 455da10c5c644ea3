/**
 * How deep inbound JSON (frames and HTTP API bodies) may nest, counting the outermost object
 * or array as level 1: `{"type":"publish","data":{"a":[1]}}` is 3 levels deep. Deeper
 * documents parse, but serializing them again (a broadcast, a handler's `JSON.stringify`) or
 * walking them recursively can exhaust the stack.
 */
export const DEFAULT_MAX_JSON_DEPTH = 32;

/** The greatest `maxJsonDepth` the gateway accepts: far below what overflows the stack. */
export const MAX_JSON_DEPTH_LIMIT = 1000;

/**
 * True when `value`, parsed from `text`, nests deeper than `maxDepth` levels. Most documents
 * hold no more opening brackets than `maxDepth`, which already rules that out, so only those
 * with many brackets are walked (and the walk stops one level past `maxDepth`).
 */
export function exceedsJsonDepth(text: string, value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (!hasMoreOpenersThan(text, maxDepth)) return false;
  return deeperThan(value, maxDepth);
}

/** True when `text` holds more than `n` `{` and `[` together (strings included: an upper bound). */
function hasMoreOpenersThan(text: string, n: number): boolean {
  let count = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++count > n) return true;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++count > n) return true;
  return false;
}

/** True when the container `value` holds containers more than `levels - 1` levels below it. */
function deeperThan(value: object, levels: number): boolean {
  if (levels <= 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === 'object' && deeperThan(item, levels - 1)) return true;
    }
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const item = record[key];
    if (item !== null && typeof item === 'object' && deeperThan(item, levels - 1)) return true;
  }
  return false;
}

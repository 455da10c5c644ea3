/** Strings longer than this are shown by their ends and length. */
const LONG = 240;

/** Runs of one character longer than this are written `‹"[" × 5000›`. */
const RUN = 16;

/** `s` as a JS string literal, shortened to its ends when long (`…(12000 chars)…`). */
function plainString(s: string, max: number): string {
  if (s.length <= max) return JSON.stringify(s);
  const half = Math.floor(max / 2);
  return `${JSON.stringify(s.slice(0, half))} …(${s.length} chars)… ${JSON.stringify(s.slice(-half))}`;
}

/**
 * `s` as a JS string literal, with runs of one character counted (`"{" + ‹"[" × 5000› + "]"`)
 * and the rest shortened to its ends when long (`…(12000 chars)…`).
 */
export function shortString(s: string, max = LONG): string {
  const chars = [...s];
  const parts: string[] = [];
  let plain = '';
  let counted = false;
  for (let i = 0; i < chars.length; ) {
    let j = i + 1;
    while (j < chars.length && chars[j] === chars[i]) j++;
    if (j - i > RUN) {
      if (plain !== '') parts.push(plainString(plain, max));
      parts.push(`‹${JSON.stringify(chars[i])} × ${j - i}›`);
      plain = '';
      counted = true;
    } else {
      plain += chars.slice(i, j).join('');
    }
    i = j;
  }
  if (!counted) return plainString(s, max);
  if (plain !== '') parts.push(plainString(plain, max));
  const shown = parts.join(' + ');
  return shown.length <= 4 * max ? shown : `${shown.slice(0, 4 * max)} …(${s.length} chars in all)`;
}

/** Bytes as hex, shortened to their ends when long. */
export function shortBytes(b: Uint8Array, max = 64): string {
  const hex = Buffer.from(b).toString('hex');
  if (b.length <= max) return `hex:${hex}`;
  return `hex:${hex.slice(0, max)}…(${b.length} bytes)…${hex.slice(-max)}`;
}

/** A value for a failure message: JSON-like, bytes as hex, long strings shortened. */
export function describeValue(value: unknown, indent = ''): string {
  if (typeof value === 'string') return shortString(value);
  if (value instanceof Uint8Array) return shortBytes(value);
  if (value === null || typeof value !== 'object') return String(value);
  const next = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${next}${describeValue(v, next)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${next}${k}: ${describeValue(v, next)}`).join(',\n')}\n${indent}}`;
}

/**
 * Quotes a value taken from a token (an unverified header or claim) for a log message: JSON,
 * cut to 80 characters, so that a hostile token cannot flood or forge log lines.
 */
export function quote(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

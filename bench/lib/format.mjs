// How the bench prints figures: numbers, shares, tables, and what bound a run.

/** A figure: '-' when missing, thousands separated from 10,000, else at most `digits` decimals. */
export const f = (v, digits = 1) =>
  v === null || v === undefined
    ? '-'
    : v >= 10_000
      ? Math.round(v).toLocaleString('en-US')
      : Number(v.toFixed(digits)).toString();
export const kib = (v) => (v === null || v === undefined ? '-' : (v / 1024).toFixed(1));
export const pct = (v) => (v === null || v === undefined ? '-' : `${Math.round(v * 100)}%`);

/** Lines of a table: first column left-aligned, the others right-aligned. */
export function grid(table) {
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => String(r[i]).length)));
  return table
    .map((r) =>
      r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  '),
    )
    .join('\n');
}

/**
 * What limited a run besides the servers: the load process itself (busy most of its core), or
 * other processes on the machine (the load process, alone on CPU 1 by design, waited for it).
 */
export function boundNote(runnerBusy, runnerWait) {
  const notes = [];
  if (runnerBusy > 0.85) notes.push('RUNNER-BOUND: the load process, not the servers, set the pace');
  if ((runnerWait ?? 0) > 0.2) {
    notes.push('MACHINE-BOUND: other processes kept the load process off its core; rerun on a quiet machine');
  }
  return notes.length > 0 ? ` (${notes.join('; ')})` : '';
}

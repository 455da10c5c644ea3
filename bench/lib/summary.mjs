// How the bench folds runs into figures: correctness of one run, medians over the repeats.

/** Logs to stderr (stdout carries the final table only). */
export const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

/** A loadtest result's correctness counts; anything wrong is logged under `label`. */
export function check(label, r) {
  const bad = r.messages.lost + r.messages.duplicates + r.messages.outOfOrder;
  const failures = Object.values(r.connections.failures).reduce((a, b) => a + b, 0);
  if (bad > 0 || failures > 0) {
    log(
      `  ! ${label}: lost ${r.messages.lost}, duplicated ${r.messages.duplicates}, out of order ${r.messages.outOfOrder}, failed connections ${failures}, errors ${JSON.stringify(r.errors)}`,
    );
  }
  return {
    lost: r.messages.lost,
    duplicates: r.messages.duplicates,
    outOfOrder: r.messages.outOfOrder,
    failures,
  };
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((p, q) => p - q);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * Medians of every numeric field over the repeats; correctness summed; `skipped` and other
 * non-numeric fields (notes, breakdowns) taken from the first run.
 */
export function combine(all) {
  const runs = all.filter((r) => r !== null);
  const out = { runs: runs.length, failedRuns: all.length - runs.length };
  for (const key of Object.keys(runs[0] ?? {})) {
    if (key === 'correctness') {
      const seen = runs.flatMap((r) => r.correctness ?? []);
      out.correctness = {};
      for (const k of ['lost', 'duplicates', 'outOfOrder', 'failures']) {
        out.correctness[k] = seen.reduce((sum, c) => sum + (c[k] ?? 0), 0);
      }
    } else if (runs.some((r) => typeof r[key] === 'number')) {
      out[key] = median(runs.map((r) => r[key]));
    } else {
      out[key] = runs[0][key];
    }
  }
  return out;
}

/** `a / b` to two decimals, or null. */
export const ratio = (a, b) => (a != null && b != null && b !== 0 ? Math.round((a / b) * 100) / 100 : null);

/** CPU time per event in microseconds, to two decimals, or null without events. */
export const usPer = (cpuMs, events) =>
  cpuMs != null && events > 0 ? Math.round((cpuMs * 1e5) / events) / 100 : null;

/** Runs `fn`; an error it throws gets the state of `servers` (exits, stderr) appended. */
export async function withServerState(servers, fn) {
  try {
    return await fn();
  } catch (error) {
    const states = servers.map((s) => s.state?.()).filter(Boolean);
    if (states.length > 0 && error instanceof Error) error.message += ` (${states.join('; ')})`;
    throw error;
  }
}

import type { ResolvedSlo } from './options';
import type { LoadResult, SloCheck } from './result';

/** Checks `result` against the SLOs that were set; every one missed is a failed check. */
export function checkSlo(
  slo: ResolvedSlo,
  result: Omit<LoadResult, 'slo'>,
): { passed: boolean; checks: SloCheck[] } {
  const checks: SloCheck[] = [];
  const atMost = (name: string, limit: number | null, actual: number) => {
    if (limit !== null) checks.push({ name, limit, actual, ok: actual <= limit });
  };
  const m = result.messages;
  atMost('p50_ms', slo.maxP50Ms, result.latencyMs.p50);
  atMost('p99_ms', slo.maxP99Ms, result.latencyMs.p99);
  atMost('p999_ms', slo.maxP999Ms, result.latencyMs.p999);
  atMost('lost', slo.maxLossCount, m.lost);
  if (slo.maxLossRatio !== null)
    atMost('lost_ratio', slo.maxLossRatio, m.expected > 0 ? m.lost / m.expected : 0);
  atMost('duplicates', slo.maxDuplicates, m.duplicates);
  atMost('out_of_order', slo.maxOutOfOrder, m.outOfOrder);
  atMost('errors', slo.maxErrors, errorCount(result));
  const r = result.recovery;
  if (slo.maxRecoveryMs !== null && r !== null) {
    atMost('recovery_ms', slo.maxRecoveryMs, r.recoveryMs.max);
    atMost('unrecovered', 0, r.unrecovered);
  }
  if (slo.minThroughput !== null) {
    const actual = result.scenario === 'connect' ? (result.connections.perSec ?? 0) : m.perSec;
    checks.push({ name: 'throughput', limit: slo.minThroughput, actual, ok: actual >= slo.minThroughput });
  }
  return { passed: checks.every((c) => c.ok), checks };
}

/** Failed connections, error frames and unexpected closes, together. */
export function errorCount(result: Pick<LoadResult, 'errors' | 'connections'>): number {
  let n = 0;
  for (const v of Object.values(result.errors)) n += v;
  for (const v of Object.values(result.connections.failures)) n += v;
  return n;
}

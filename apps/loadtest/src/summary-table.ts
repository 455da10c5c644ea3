import type { LatencySummary } from './histogram';
import type { LoadResult, RecoveryFigures } from './result';

const n = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const codes = (r: Record<string, number>) =>
  Object.keys(r).length === 0
    ? 'none'
    : Object.entries(r)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ');

/** The percentiles of a latency summary as one line. */
export function latencyLine(s: LatencySummary): string {
  return s.count === 0
    ? 'no samples'
    : `p50 ${ms(s.p50)}  p90 ${ms(s.p90)}  p99 ${ms(s.p99)}  p99.9 ${ms(s.p999)}  max ${ms(s.max)}  (${n(s.count)} samples)`;
}

/** The rows of a `recovery` run: the disruption, the outcome per outage, the recovery times. */
function recoveryRows(v: RecoveryFigures): [string, string][] {
  const what = [
    ...v.killed.map((k) => `killed ${k.pid}${k.error === null ? '' : ` (failed: ${k.error})`}`),
    ...(v.dropped > 0 ? [`dropped ${n(v.dropped)} sockets`] : []),
  ].join(', ');
  const all =
    v.affected === 0
      ? 'no subscriber lost its connection'
      : v.allRecoveredMs === null
        ? 'not every subscriber recovered'
        : `all recovered after ${ms(v.allRecoveredMs)} ms`;
  return [
    [
      'disruption',
      v.disruptedAtSec === null ? 'none (the run ended first)' : `at ${v.disruptedAtSec} s: ${what}`,
    ],
    [
      'recovery',
      `${n(v.affected)} subscribers affected, ${n(v.outages)} outages: recovered ${n(v.recovered)}  resynced ${n(v.resynced)}  unrecovered ${n(v.unrecovered)}  (${n(v.attempts)} attempts, failed ${codes(v.attemptFailures)})`,
    ],
    [
      'recovered',
      `${n(v.recoveredPublications)} publications from history  ${n(v.droppedByOffset)} deliveries dropped by offset`,
    ],
    ['recovery ms', `${latencyLine(v.recoveryMs)}  ->  ${all}`],
  ];
}

/** The end-of-run summary as a plain-text table. */
export function summaryTable(r: LoadResult): string {
  const m = r.messages;
  const c = r.connections;
  const echo = r.scenario === 'echo';
  const rows: [string, string][] = [
    [
      'run',
      `${r.scenario} (${r.dialect}) -> ${r.urls.join(', ')}  ${r.startedAt}  ${(r.elapsedMs / 1000).toFixed(1)} s`,
    ],
    [
      'connections',
      `ready ${n(c.ready)} of ${n(c.planned)}  peak open ${n(c.peakOpen)}  failed ${codes(c.failures)}`,
    ],
    [
      'connect ms',
      latencyLine(c.connectMs) + (c.perSec === null ? '' : `  ->  ${n(c.perSec)} connections/s`),
    ],
  ];
  if (r.scenario !== 'connect') {
    rows.push(
      [
        echo ? 'requests' : 'messages',
        `sent ${n(m.sent)}  expected ${n(m.expected)}  received ${n(m.received)}  lost ${n(m.lost)}  duplicated ${n(m.duplicates)}  out of order ${n(m.outOfOrder)}`,
      ],
      ['throughput', `${n(m.perSec)} ${echo ? 'replies' : 'deliveries'}/s`],
      [echo ? 'round trip ms' : 'latency ms', latencyLine(r.latencyMs)],
    );
  }
  if (r.churnCycles > 0) rows.push(['churn', `${n(r.churnCycles)} connections came and went`]);
  if (r.recovery !== null) rows.push(...recoveryRows(r.recovery));
  for (const u of r.byUrl) rows.push(['by url', `${u.url}  ${n(u.received)} received`]);
  for (const s of r.servers) {
    rows.push([
      `server ${s.pid}`,
      `cpu ${n(s.cpuMs)} ms${s.cpuUsPerDelivery === null ? '' : `  ${s.cpuUsPerDelivery} us per delivery`}  rss ${(s.rssBytes / 2 ** 20).toFixed(1)} MiB`,
    ]);
  }
  rows.push([
    'runner',
    `cpu ${n(r.runner.cpuMs)} ms${r.runner.cpuUsPerDelivery === null ? '' : `  ${r.runner.cpuUsPerDelivery} us per delivery`}`,
  ]);
  rows.push(['errors', codes(r.errors)]);
  if (r.slo.checks.length > 0) {
    const checks = r.slo.checks.map(
      (k) =>
        `${k.name} ${k.actual} ${k.name === 'throughput' ? '>=' : '<='} ${k.limit} ${k.ok ? 'ok' : 'MISSED'}`,
    );
    rows.push(['slo', `${r.slo.passed ? 'PASS' : 'FAIL'}: ${checks.join('; ')}`]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

import { decodeHistogram, histogramBars } from './histogram';
import type { LoadResult } from './result';
import { summaryTable } from './summary-table';
import { barChart, escapeHtml, lineChart } from './svg-chart';

/**
 * A self-contained HTML report of a run: the summary, latency percentiles over time,
 * throughput over time and the latency histogram, drawn as inline SVG (no script, no
 * network), and the result as JSON. It opens offline in any browser.
 */
export function htmlReport(r: LoadResult): string {
  const t = (f: (p: LoadResult['series'][number]) => number) => r.series.map((p) => [p.t, f(p)] as const);
  const what = r.scenario === 'echo' ? 'round trip' : r.scenario === 'connect' ? 'time to ready' : 'latency';
  const unit =
    r.scenario === 'echo' ? 'replies/s' : r.scenario === 'connect' ? 'connections/s' : 'deliveries/s';
  const bars = histogramBars(decodeHistogram(r.histogram)).map((b) => ({
    label: b.upToMs >= 10 ? b.upToMs.toFixed(0) : b.upToMs.toFixed(2),
    value: b.count,
  }));
  const { histogram: _encoded, ...shown } = r;
  const verdict = r.slo.checks.length === 0 ? '' : r.slo.passed ? ' - SLO PASS' : ' - SLO FAIL';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>dotmac-loadtest ${escapeHtml(r.scenario)} ${escapeHtml(r.startedAt)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222;max-width:820px}pre{background:#f6f6f6;padding:12px;overflow:auto;font-size:12px}h1{font-size:20px}h2{font-size:16px;margin-top:28px}.fail{color:#b00}</style>
</head><body>
<h1 class="${r.slo.passed ? '' : 'fail'}">dotmac-loadtest: ${escapeHtml(r.scenario)}${verdict}</h1>
<pre>${escapeHtml(summaryTable(r))}</pre>
<h2>${escapeHtml(what)} percentiles over time</h2>
${lineChart(`${what} per second`, 'seconds', 'ms', [
  { name: 'p50', color: '#2a9d4b', points: t((p) => p.p50Ms) },
  { name: 'p99', color: '#e08a00', points: t((p) => p.p99Ms) },
  { name: 'max', color: '#c0392b', points: t((p) => p.maxMs) },
])}
<h2>Throughput over time</h2>
${lineChart(unit, 'seconds', unit, [{ name: unit, color: '#4a7bd0', points: t((p) => p.rate) }])}
<h2>${escapeHtml(what)} histogram</h2>
${barChart(`${what} distribution (log buckets)`, 'ms (upper bound)', 'count', bars)}
<h2>Result</h2>
<pre>${escapeHtml(JSON.stringify(shown, null, 2))}</pre>
</body></html>
`;
}

export { type CliRequest, FLAGS, helpText, parseCliArgs } from './cli-args';
export { type Dialect, dialectFor, type Inbound, SUBPROTOCOL } from './dialect';
export { type HistogramBar, histogramBars, type LatencySummary } from './histogram';
export { htmlReport } from './html-report';
export { LoadtestOptionsError, LoadtestRunError } from './loadtest-error';
export {
  DEFAULTS,
  DIALECTS,
  type DialectName,
  type LoadOptions,
  type ProgressSnapshot,
  type ResolvedLoadOptions,
  type ResolvedSlo,
  type RunPhase,
  resolveLoadOptions,
  SCENARIOS,
  type Scenario,
  type SloOptions,
  TOKEN_TRANSPORTS,
  type TokenVia,
} from './options';
export { type DecodedPayload, decodePayload, encodePayload } from './payload';
export type { LoadResult, RecoveryFigures, SeriesPoint, ServerFigures, SloCheck } from './result';
export { runLoad } from './run-load';
export { type DeliveryCounts, SequenceTracker } from './sequence-tracker';
export { type ProcessSample, sampleProcess } from './server-stats';
export { checkSlo, errorCount } from './slo';
export { latencyLine, summaryTable } from './summary-table';

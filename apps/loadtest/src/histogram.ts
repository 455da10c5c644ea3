import * as hdr from 'hdr-histogram-js';

/** An HDR histogram of microseconds. */
export type Histogram = hdr.Histogram;

/** Latency figures in milliseconds. */
export interface LatencySummary {
  /** Values recorded. */
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** A histogram of microseconds from 1 us to one hour at 3 significant digits. */
export function newHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records `us` microseconds (at least 1, so that a same-tick value is still counted). */
export function recordUs(h: Histogram, us: number): void {
  h.recordValue(us < 1 ? 1 : Math.round(us));
}

/** The summary of a histogram of microseconds, in milliseconds. */
export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    min: ms(h.minNonZeroValue),
    mean: ms(h.mean),
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}

/** A histogram as compact text, to cross a worker boundary or be stored in a result. */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** The histogram {@link encodeHistogram} encoded. */
export function decodeHistogram(text: string): Histogram {
  return hdr.decodeFromCompressedBase64(text);
}

/** One bar of a latency distribution: values up to `upToMs` (and above the previous bar). */
export interface HistogramBar {
  upToMs: number;
  count: number;
}

/**
 * The distribution in bars whose bounds grow by `ratio` (a log scale), from the smallest to
 * the largest recorded value; at most `maxBars` bars.
 */
export function histogramBars(h: Histogram, ratio = 1.25, maxBars = 80): HistogramBar[] {
  if (h.totalCount === 0) return [];
  const bars: HistogramBar[] = [];
  let low = 0;
  let high = Math.max(1, h.minNonZeroValue);
  let before = 0;
  while (bars.length < maxBars) {
    const below = countAtOrBelow(h, high);
    bars.push({ upToMs: high / 1000, count: below - before });
    before = below;
    if (high >= h.maxValue) break;
    low = high;
    high = Math.max(low + 1, Math.ceil(low * ratio));
  }
  return bars;
}

function countAtOrBelow(h: Histogram, us: number): number {
  // hdr-histogram-js has no public cumulative count: walk the percentile of a value instead.
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (h.getValueAtPercentile(mid) <= us) lo = mid;
    else hi = mid;
  }
  return Math.round((lo / 100) * h.totalCount);
}

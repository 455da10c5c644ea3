/** Latency buckets, in seconds: 5 ms to 30 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** A cumulative latency histogram, rendered in the Prometheus text format. @internal */
export class Histogram {
  readonly #counts: number[] = LATENCY_BUCKETS.map(() => 0);
  #count = 0;
  #sum = 0;

  /** Records one duration, in milliseconds. */
  observe(ms: number): void {
    const s = ms / 1000;
    this.#count++;
    this.#sum += s;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++)
      if (s <= (LATENCY_BUCKETS[i] as number)) this.#counts[i]!++;
  }

  /** How many durations were recorded. */
  get count(): number {
    return this.#count;
  }

  /** The series of this histogram with `labels` (already rendered as `k="v",…`, may be empty). */
  lines(name: string, labels: string): string[] {
    const sep = labels === '' ? '' : ',';
    const out = LATENCY_BUCKETS.map((b, i) => `${name}_bucket{${labels}${sep}le="${b}"} ${this.#counts[i]}`);
    out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.#count}`);
    const braces = labels === '' ? '' : `{${labels}}`;
    out.push(`${name}_sum${braces} ${this.#sum}`, `${name}_count${braces} ${this.#count}`);
    return out;
  }
}

/** One metric family: its HELP and TYPE lines, then its series. @internal */
export function family(
  name: string,
  type: 'counter' | 'gauge' | 'histogram',
  help: string,
  series: string[],
): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${series.join('\n')}${series.length > 0 ? '\n' : ''}`;
}

/** `k="v",…` with label values escaped as the text format requires. @internal */
export function labels(values: Readonly<Record<string, string>>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

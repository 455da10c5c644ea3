import { Counter, type Metric, type Registry } from 'prom-client';

/** One sample of a metric, as prom-client's registry renders it. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A counter by one label whose increments are plain additions to a map; prom-client reads the
 * totals at each scrape. On the hot path it costs a map update instead of prom-client's
 * label hashing. Label values must already be bounded.
 */
export class TallyCounter {
  readonly #counts = new Map<string, number>();

  constructor(registry: Registry, name: string, help: string, labelName: string) {
    const counts = this.#counts;
    new Counter({
      name,
      help,
      labelNames: [labelName],
      registers: [registry],
      collect() {
        this.reset();
        for (const [value, n] of counts) this.inc({ [labelName]: value }, n);
      },
    });
  }

  /** Adds one to the series of `label`. */
  inc(label: string): void {
    this.#counts.set(label, (this.#counts.get(label) ?? 0) + 1);
  }
}

interface Series {
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * A histogram by one label that prom-client's registry exposes like its own (`_bucket`, `_sum`,
 * `_count`); an observation is a bucket search and three additions, without label hashing.
 */
export class TallyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #label: string;
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(registry: Registry, name: string, help: string, labelName: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.#label = labelName;
    this.#bounds = bounds;
    registry.registerMetric(this as unknown as Metric);
  }

  /** Records `value` in the series of `label`. */
  observe(label: string, value: number): void {
    let s = this.#series.get(label);
    if (s === undefined) {
      s = { buckets: new Array<number>(this.#bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.#series.set(label, s);
    }
    let i = 0;
    while (i < this.#bounds.length && value > (this.#bounds[i] as number)) i++;
    (s.buckets[i] as number)++;
    s.sum += value;
    s.count++;
  }

  /** What the registry renders (prom-client's metric object shape). */
  async get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: Sample[];
  }> {
    const values: Sample[] = [];
    for (const [label, s] of this.#series) {
      let cumulative = 0;
      for (let i = 0; i <= this.#bounds.length; i++) {
        cumulative += s.buckets[i] as number;
        const le = i < this.#bounds.length ? (this.#bounds[i] as number) : '+Inf';
        values.push({
          labels: { le, [this.#label]: label },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ labels: { [this.#label]: label }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { [this.#label]: label }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }

  /** Forgets every observation (`registry.resetMetrics()`). */
  reset(): void {
    this.#series.clear();
  }
}

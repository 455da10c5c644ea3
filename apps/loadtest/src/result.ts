import type { LatencySummary } from './histogram';
import type { DialectName, Scenario } from './options';

/** One second of a run. */
export interface SeriesPoint {
  /** Seconds since the measured phase began. */
  t: number;
  /** Deliveries (echo: replies; connect: connections) per second. */
  rate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Open connections. */
  connections: number;
}

/** One SLO check. */
export interface SloCheck {
  name: string;
  limit: number;
  actual: number;
  ok: boolean;
}

/** A server process measured over the run. */
export interface ServerFigures {
  pid: number;
  /** CPU time it used over the measured phase and the drain, in ms. */
  cpuMs: number;
  /** CPU time per delivery, in microseconds (null without deliveries). */
  cpuUsPerDelivery: number | null;
  /** Resident set size at the end, in bytes. */
  rssBytes: number;
}

/** Everything a run measured; the CLI prints it as a table, JSON or HTML. */
export interface LoadResult {
  scenario: Scenario;
  dialect: DialectName;
  urls: string[];
  /** When the measured phase began (ISO 8601). */
  startedAt: string;
  /** Length of the measured phase plus the drain, in ms: what rates are computed over. */
  elapsedMs: number;
  /** The run's settings, secrets left out. */
  settings: Record<string, unknown>;
  connections: {
    /** Connections the run meant to open (steady ones, or the storm). */
    planned: number;
    /** Connections that became ready (churn: every cycle). */
    ready: number;
    /** Most connections open at once. */
    peakOpen: number;
    /** Failed connections by reason (`http_401`, `timeout`, `subscribe_forbidden`…). */
    failures: Record<string, number>;
    /** Time from connecting to ready. */
    connectMs: LatencySummary;
    /** `connect`: ready connections per second over the storm. */
    perSec: number | null;
  };
  messages: {
    /** Messages published (echo: requests sent). */
    sent: number;
    /** Deliveries owed to steady subscribers (echo: replies owed). */
    expected: number;
    /** Deliveries (echo: replies) received, duplicates included. */
    received: number;
    lost: number;
    duplicates: number;
    outOfOrder: number;
    /** Deliveries (echo: replies) per second. */
    perSec: number;
  };
  /** Delivery latency (echo: round trip; connect: time to ready). */
  latencyMs: LatencySummary;
  /** `churn`: connections that came and went. */
  churnCycles: number;
  /** Error frames, refused publishes and unexpected closes (`close_4408`), by code. */
  errors: Record<string, number>;
  /** Deliveries per URL (multi-node). */
  byUrl: { url: string; received: number }[];
  /** Server processes measured with `serverPids`. */
  servers: ServerFigures[];
  /**
   * This process's own CPU time over the same window (every thread), and per delivery: when it
   * nears one core per thread, the load generator, not the server, limits the throughput.
   */
  runner: { cpuMs: number; cpuUsPerDelivery: number | null };
  /** Second by second. */
  series: SeriesPoint[];
  /** The latency histogram, HDR-encoded (base64), for later analysis. */
  histogram: string;
  slo: { passed: boolean; checks: SloCheck[] };
}

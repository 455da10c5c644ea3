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

/** What the `recovery` scenario's disruption did and how the subscribers came back. */
export interface RecoveryFigures {
  /** Seconds into the measured phase when the disruption happened; null when the run ended first. */
  disruptedAtSec: number | null;
  /** Processes sent SIGKILL, and the error code if that failed (`ESRCH`: no such process). */
  killed: { pid: number; error: string | null }[];
  /** Subscriber sockets the runner dropped itself. */
  dropped: number;
  /** Subscribers that lost their connection at least once. */
  affected: number;
  /** Lost connections in all (a subscriber may lose its connection again while recovering). */
  outages: number;
  /** Outages answered with `recovered: true`: the missed publications came in the ack. */
  recovered: number;
  /** Outages answered with `recovered: false`: the position was gone, the client resynced. */
  resynced: number;
  /** Outages never answered: the subscriber gave up, or the run ended first. */
  unrecovered: number;
  /** Reconnection attempts. */
  attempts: number;
  /** Failed attempts by reason (`ECONNREFUSED`, `subscribe_timeout`…). */
  attemptFailures: Record<string, number>;
  /** Publications received in recovering `subscribe` acks. */
  recoveredPublications: number;
  /** Deliveries dropped because their offset was not above the last one taken (0 from a server that keeps the guarantee). */
  droppedByOffset: number;
  /**
   * Per outage, from the disruption (or from the loss, for a loss it did not cause) to the
   * recovering `subscribe` ack.
   */
  recoveryMs: LatencySummary;
  /** From the disruption until the last affected subscriber recovered; null when one never did. */
  allRecoveredMs: number | null;
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
  /** `recovery`: the disruption and the recoveries; null for other scenarios. */
  recovery: RecoveryFigures | null;
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

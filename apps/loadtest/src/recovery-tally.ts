import { decodeHistogram, encodeHistogram, newHistogram, recordUs, summarize } from './histogram';
import type { RecoveringSubscriber } from './recovering-subscriber';
import type { RecoveryFigures } from './result';

/** The counters of {@link RecoveryFigures} that shards add up. */
type Counted =
  | 'dropped'
  | 'affected'
  | 'outages'
  | 'recovered'
  | 'resynced'
  | 'unrecovered'
  | 'attempts'
  | 'recoveredPublications'
  | 'droppedByOffset';

/** What one shard's recovering subscribers went through; the coordinator adds shards up. */
export interface ShardRecovery extends Pick<RecoveryFigures, Counted | 'attemptFailures'> {
  /** Recovery times in microseconds, encoded. */
  histogram: string;
  /** The latest answer to an outage the disruption caused (monotonic µs), 0 without one. */
  lastRecoveredUs: number;
}

/** The counters a shard's recovering subscribers add to while the run goes on. */
export class RecoveryTally {
  dropped = 0;
  recoveredPublications = 0;
  droppedByOffset = 0;
  readonly attemptFailures: Record<string, number> = {};

  /** Counts a failed reconnection attempt by reason. */
  attemptFailed(reason: string): void {
    this.attemptFailures[reason] = (this.attemptFailures[reason] ?? 0) + 1;
  }

  /**
   * The shard's figures at the end. An outage that began at or after the disruption (the
   * subscriber's first since then) is timed from the disruption; any other from its loss.
   */
  summarize(subscribers: readonly RecoveringSubscriber[], disruptAtUs: number | null): ShardRecovery {
    const histogram = newHistogram();
    const out: ShardRecovery = {
      dropped: this.dropped,
      affected: 0,
      outages: 0,
      recovered: 0,
      resynced: 0,
      unrecovered: 0,
      attempts: 0,
      attemptFailures: this.attemptFailures,
      recoveredPublications: this.recoveredPublications,
      droppedByOffset: this.droppedByOffset,
      histogram: '',
      lastRecoveredUs: 0,
    };
    for (const sub of subscribers) {
      if (sub.outages.length > 0) out.affected++;
      let fromDisruption = disruptAtUs !== null;
      for (const o of sub.outages) {
        out.outages++;
        out.attempts += o.attempts;
        const byDisruption = fromDisruption && o.lostUs >= disruptAtUs!;
        if (byDisruption) fromDisruption = false;
        if (o.recoveredUs === null) {
          out.unrecovered++;
          continue;
        }
        if (o.recovered) out.recovered++;
        else out.resynced++;
        recordUs(histogram, o.recoveredUs - (byDisruption ? disruptAtUs! : o.lostUs));
        if (byDisruption && o.recoveredUs > out.lastRecoveredUs) out.lastRecoveredUs = o.recoveredUs;
      }
    }
    out.histogram = encodeHistogram(histogram);
    return out;
  }
}

/** Adds the shards' recovery figures up. */
export function mergeRecovery(
  parts: readonly ShardRecovery[],
  run: { disruptAtUs: number | null; startUs: number; killed: RecoveryFigures['killed'] },
): RecoveryFigures {
  const histogram = newHistogram();
  const failures: Record<string, number> = {};
  const sum = (k: Counted) => parts.reduce((a, p) => a + p[k], 0);
  let last = 0;
  for (const p of parts) {
    histogram.add(decodeHistogram(p.histogram));
    for (const [k, v] of Object.entries(p.attemptFailures)) failures[k] = (failures[k] ?? 0) + v;
    if (p.lastRecoveredUs > last) last = p.lastRecoveredUs;
  }
  const unrecovered = sum('unrecovered');
  const at = run.disruptAtUs;
  return {
    disruptedAtSec: at === null ? null : Math.round((at - run.startUs) / 1e4) / 100,
    killed: run.killed,
    dropped: sum('dropped'),
    affected: sum('affected'),
    outages: sum('outages'),
    recovered: sum('recovered'),
    resynced: sum('resynced'),
    unrecovered,
    attempts: sum('attempts'),
    attemptFailures: failures,
    recoveredPublications: sum('recoveredPublications'),
    droppedByOffset: sum('droppedByOffset'),
    recoveryMs: summarize(histogram),
    allRecoveredMs: at === null || unrecovered > 0 ? null : last === 0 ? 0 : Math.round(last - at) / 1000,
  };
}

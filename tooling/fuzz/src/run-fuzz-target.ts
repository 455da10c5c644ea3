import { sleep } from '@dotmac-ws/test-utils';
import fc from 'fast-check';
import { shortString } from './describe-value';
import type { FuzzConfig } from './fuzz-config';
import { type FuzzTarget, PropertyViolation, type TargetName } from './fuzz-target';
import { GatewayUnderTest } from './gateway-under-test';
import { PongWatcher, type WatcherSummary } from './pong-watcher';
import { RawConnection } from './raw-connection';

/** What one target's run found; `failures` is empty when every property held. */
export interface TargetReport {
  readonly target: TargetName;
  readonly inputs: number;
  readonly failures: readonly string[];
  /** One paragraph: inputs, outcomes, memory, pongs. */
  readonly summary: string;
}

/** The fuzzing time of `target` when the selected targets share FUZZ_SECONDS by weight. */
export function budgetMs(
  target: FuzzTarget<unknown>,
  all: readonly FuzzTarget<unknown>[],
  config: FuzzConfig,
): number {
  const selected = all.filter((t) => config.targets.includes(t.name));
  const total = selected.reduce((sum, t) => sum + t.weight, 0);
  return Math.round((config.seconds * 1000 * target.weight) / total);
}

/** How long a target's test may take at most: fuzzing, shrinking, start and stop. */
export function targetTimeoutMs(budget: number, config: FuzzConfig): number {
  return budget + config.shrinkSeconds * 1000 + 4 * config.answerMs + 60_000;
}

/**
 * Waits until the gateway has finished with an input: a `GET /ready` on a new connection is
 * served in a later turn of its event loop than the input, so faults the input caused (an
 * unhandled rejection, an error log line) are printed by the time the answer arrives.
 */
async function settle(g: GatewayUnderTest): Promise<void> {
  try {
    const conn = await RawConnection.open(g.port, PROBE_ADDRESS, 2000);
    await conn.write(Buffer.from('GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    await conn.until(() => false, 2000);
    conn.destroy();
  } catch {
    // A gateway that does not answer is caught by the checks that follow.
  }
  await sleep(3);
}

/** The source address of the settle probe. */
const PROBE_ADDRESS = '127.0.0.3';

/** True when `error` breaks the same property as `first` (or both are harness errors). */
function sameProperty(error: unknown, first: unknown): boolean {
  if (error instanceof PropertyViolation && first instanceof PropertyViolation)
    return error.property === first.property;
  return !(error instanceof PropertyViolation) && !(first instanceof PropertyViolation);
}

/** How long each input may wait for an answer while a failure is shrunk. */
const SHRINK_ANSWER_MS = 1000;

const shortLines = (lines: readonly string[], n = 5): string =>
  lines
    .slice(0, n)
    .map((l) => `      ${shortString(l, 400)}`)
    .join('\n') + (lines.length > n ? `\n      … and ${lines.length - n} more` : '');

/**
 * Runs one fuzz target against a fresh reference gateway for `budget` ms: each input is sent,
 * then the process must still run, have logged no error, and the well-behaved client must have
 * had its pongs. The first failing input is shrunk (for at most FUZZ_SHRINK_SECONDS, restarting
 * the gateway if it died). At the end: memory growth, the whole log, and a clean SIGTERM stop.
 */
export async function runFuzzTarget<T>(
  target: FuzzTarget<T>,
  budget: number,
  config: FuzzConfig,
): Promise<TargetReport> {
  const started = Date.now();
  let gateway = await GatewayUnderTest.start();
  let watcher = await PongWatcher.start(gateway.port, { gapMs: config.pongGapMs });
  const gateways = [gateway];
  const rssBefore = gateway.rssKiB();
  const outcomes = new Map<string, number>();
  let counting = true;
  let inputs = 0;

  const crashed = async (g: GatewayUnderTest): Promise<boolean> => {
    if (g.alive()) await Promise.race([g.proc.exited(), sleep(200)]);
    return !g.alive();
  };
  const crashViolation = (g: GatewayUnderTest) =>
    new PropertyViolation(
      'process-alive',
      `the gateway exited (${g.exitDescription()}); its last output:\n${g.tail(15)}`,
    );

  // Shrinking tries many inputs that hang: it waits less for each, and the result is confirmed with the full bound.
  let answerMs = config.answerMs;
  const check = async (input: T) => {
    if (!gateway.alive()) {
      // A crash is reported for the input that caused it; shrinking goes on against a new process.
      await watcher.worker.terminate();
      gateway = await GatewayUnderTest.start();
      gateways.push(gateway);
      watcher = await PongWatcher.start(gateway.port, { gapMs: config.pongGapMs });
    }
    const g = gateway;
    const w = watcher;
    const kept = (messages: string[]) => messages.filter((m) => !config.ignore?.test(m));
    const since = Date.now();
    const mark = g.logMark();
    let label: string;
    try {
      label = await target.exercise(input, { gateway: g, answerMs });
    } catch (error) {
      const violation = (await crashed(g)) ? crashViolation(g) : error;
      if (!(violation instanceof PropertyViolation) || kept([violation.message]).length > 0) throw violation;
      label = `ignored [${violation.property}]`;
    }
    await settle(g);
    if (!g.alive()) throw crashViolation(g);
    const lines = kept(g.unexpectedLines(mark));
    if (lines.length > 0)
      throw new PropertyViolation('clean-log', `the gateway logged after this input:\n${shortLines(lines)}`);
    const late = kept(w.violationsSince(since).map((v) => v.message));
    if (late.length > 0) throw new PropertyViolation('pongs', `while this input ran:\n${shortLines(late)}`);
    if (counting) {
      inputs++;
      outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
    }
  };
  const property = fc.asyncProperty(target.arbitrary, check);

  const failures: string[] = [];
  const replay = (path: string | null) =>
    `FUZZ_TARGET=${target.name} FUZZ_SEED=${config.seed}${path ? ` FUZZ_PATH=${path}` : ''} pnpm --filter @dotmac-ws/fuzz test`;
  let found: fc.RunDetails<[T]> | null = null;
  let shrunk: fc.RunDetails<[T]> | null = null;
  let shrunkFlaky = false;
  let replayed = true;
  if (config.path === null) {
    const first = await fc.check(property, {
      seed: config.seed,
      numRuns: 2 ** 30,
      interruptAfterTimeLimit: budget,
      endOnFailure: true,
    });
    if (first.failed) {
      found = first;
      counting = false;
      if (config.shrinkSeconds > 0) {
        answerMs = Math.min(config.answerMs, SHRINK_ANSWER_MS);
        const run = await fc.check(property, {
          seed: first.seed,
          path: first.counterexamplePath ?? undefined,
          interruptAfterTimeLimit: config.shrinkSeconds * 1000,
        });
        answerMs = config.answerMs;
        const smallest = run.counterexample?.[0];
        replayed = run.failed;
        if (run.failed && smallest !== undefined) {
          // Confirmed with the full bound; an input at the edge (a depth that only sometimes
          // overflows the stack) may fail only now and then.
          shrunk = run;
          shrunkFlaky = true;
          for (let attempt = 0; attempt < 3 && shrunkFlaky; attempt++) {
            const error: unknown = await check(smallest).then(
              () => null,
              (e: unknown) => e ?? 'failed',
            );
            if (error !== null && sameProperty(error, first.errorInstance)) {
              run.errorInstance = error;
              shrunkFlaky = false;
            }
          }
        }
      }
    }
  } else {
    counting = false;
    found = await fc.check(property, {
      seed: config.seed,
      path: config.path,
      interruptAfterTimeLimit: Math.max(budget, config.shrinkSeconds * 1000),
    });
    if (!found.failed) found = null;
  }
  let mainProperty: string | null = null;
  if (found !== null) {
    const best = shrunk !== null && !shrunkFlaky ? shrunk : found;
    const error = best.errorInstance;
    const what =
      error instanceof PropertyViolation
        ? `[${error.property}] ${error.detail}`
        : `[harness] the input could not be sent: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    mainProperty = error instanceof PropertyViolation ? error.property : null;
    const show = (details: fc.RunDetails<[T]>) => {
      const input = details.counterexample?.[0];
      return `${input === undefined ? '(none)' : target.describe(input)}\nreplay: ${replay(details.counterexamplePath)}`.replace(
        /^/gm,
        '   ',
      );
    };
    const shrinks = (d: fc.RunDetails<[T]>) =>
      `shrunk ${d.numShrinks} times${d.interrupted ? ', stopped at FUZZ_SHRINK_SECONDS' : ''}`;
    const note = replayed
      ? ''
      : ' (it did not fail again when replayed alone: the failure may depend on earlier inputs or on timing)';
    let text = `${what}\n   input${best === shrunk ? ` (${shrinks(best)})` : note}:\n${show(best)}`;
    if (shrunk !== null && shrunkFlaky)
      text += `\n   a smaller input failed the same way while shrinking (${shrinks(shrunk)}), but not on each of 3 more tries:\n${show(shrunk)}`;
    failures.push(text);
  }

  // End of the run: the process, the well-behaved client, memory, the whole log, and a clean stop.
  if (mainProperty !== 'process-alive' && (await crashed(gateway)))
    failures.push(crashViolation(gateway).message);
  let pongs: WatcherSummary | null = null;
  const restarted = gateways.length > 1;
  if (gateway.alive()) {
    try {
      pongs = await watcher.stop();
    } catch (error) {
      failures.push(`[pongs] ${(error as Error).message}`);
    }
  }
  const notIgnored = (messages: string[]) => messages.filter((m) => !config.ignore?.test(m));
  const watcherViolations = notIgnored(watcher.violations.map((v) => v.message));
  if (mainProperty !== 'pongs' && !restarted && watcherViolations.length > 0) {
    failures.push(
      `[pongs] the well-behaved client (127.0.0.2, a ping every 150 ms):\n${shortLines(watcherViolations)}`,
    );
  }
  const rssAfter = gateway.alive() ? gateway.rssKiB() : null;
  const growthMiB =
    rssBefore !== null && rssAfter !== null && !restarted ? (rssAfter - rssBefore) / 1024 : null;
  if (growthMiB !== null && growthMiB > config.rssGrowthMiB) {
    failures.push(
      `[bounded-memory] the gateway's RSS grew by ${growthMiB.toFixed(1)} MiB (${(rssBefore! / 1024).toFixed(1)} -> ${(rssAfter! / 1024).toFixed(1)} MiB), over the bound of ${config.rssGrowthMiB} MiB`,
    );
  }
  const unexpected = notIgnored(gateways.flatMap((g) => g.unexpectedLines()));
  if (mainProperty !== 'clean-log' && mainProperty !== 'process-alive' && unexpected.length > 0)
    failures.push(
      `[clean-log] the gateway's output has ${unexpected.length} unexpected lines:\n${shortLines(unexpected)}`,
    );
  if (gateway.alive()) {
    const stopped = await gateway.stop();
    if (stopped.code !== 0)
      failures.push(
        `[clean-stop] SIGTERM ended the gateway with exit code ${stopped.code} after ${stopped.ms} ms (0 expected)`,
      );
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const sorted = [...outcomes.entries()].sort((a, b) => b[1] - a[1]);
  const top =
    sorted
      .slice(0, 14)
      .map(([k, n]) => `${k} x${n}`)
      .join(', ') + (sorted.length > 14 ? `, and ${sorted.length - 14} more kinds` : '');
  const summary =
    `fuzz ${target.name}: ${inputs} inputs passed (fuzzing budget ${(budget / 1000).toFixed(1)} s, ${seconds} s in all), seed ${config.seed}` +
    `${restarted ? `, the gateway was restarted ${gateways.length - 1} times after crashes` : ''}\n` +
    `  outcomes: ${top || '(none)'}\n` +
    `  RSS: ${rssBefore === null ? '?' : (rssBefore / 1024).toFixed(1)} -> ${rssAfter === null ? '?' : (rssAfter / 1024).toFixed(1)} MiB` +
    `; pongs: ${pongs === null ? '?' : `${pongs.answered}/${pongs.sent}, slowest ${pongs.maxRttMs} ms`}`;
  return { target: target.name, inputs, failures, summary };
}

/** The error a failed target's test throws: every broken property, each with its input and replay command. */
export function failureMessage(report: TargetReport, config: FuzzConfig): string {
  const n = report.failures.length;
  return (
    `fuzz target "${report.target}" (seed ${config.seed}) broke ${n} ${n === 1 ? 'property' : 'properties'}:\n\n` +
    report.failures.map((f, i) => `${i + 1}. ${f}`).join('\n\n') +
    `\n\n${report.summary}`
  );
}

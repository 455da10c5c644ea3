import { TARGET_NAMES, type TargetName } from './fuzz-target';

/** The seed used when FUZZ_SEED is unset: CI runs the same inputs every time. */
export const DEFAULT_SEED = 20_261_302;

/** How a fuzz run is bounded and what it replays, read from the environment. */
export interface FuzzConfig {
  /** Fuzzing time shared by the selected targets (FUZZ_SECONDS). @default 30 */
  readonly seconds: number;
  /** Extra time a failing target may spend shrinking its input (FUZZ_SHRINK_SECONDS). @default 20 */
  readonly shrinkSeconds: number;
  /** The seed (FUZZ_SEED; `random` picks one). @default DEFAULT_SEED */
  readonly seed: number;
  /** The fast-check path of one input to replay (FUZZ_PATH, printed with a failure). @default null */
  readonly path: string | null;
  /** The targets to run (FUZZ_TARGET, comma-separated). @default every target */
  readonly targets: readonly TargetName[];
  /** How long the gateway has to answer or close a socket (FUZZ_ANSWER_MS). @default 5000 */
  readonly answerMs: number;
  /** Longest wait for a pong of the well-behaved client (FUZZ_PONG_GAP_MS). @default 2000 */
  readonly pongGapMs: number;
  /** Largest growth of the gateway's RSS over one target's run, in MiB (FUZZ_RSS_GROWTH_MIB). @default 150 */
  readonly rssGrowthMiB: number;
  /**
   * Failures whose message matches this (FUZZ_IGNORE, a regular expression) count as passes:
   * to look past a known finding while it is being fixed. Never set in CI. @default null
   */
  readonly ignore: RegExp | null;
}

/** Reads the FUZZ_* variables; one error names every bad one. */
export function readFuzzConfig(env: Record<string, string | undefined> = process.env): FuzzConfig {
  const problems: string[] = [];
  const number = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      problems.push(`${name} is '${raw}' when it must be a number from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const seconds = number('FUZZ_SECONDS', 30, 1, 86_400);
  const shrinkSeconds = number('FUZZ_SHRINK_SECONDS', 20, 0, 86_400);
  const answerMs = number('FUZZ_ANSWER_MS', 5000, 100, 600_000);
  const pongGapMs = number('FUZZ_PONG_GAP_MS', 2000, 100, 600_000);
  const rssGrowthMiB = number('FUZZ_RSS_GROWTH_MIB', 150, 1, 100_000);

  let seed = DEFAULT_SEED;
  const rawSeed = env.FUZZ_SEED;
  if (rawSeed === 'random') seed = Math.floor(Math.random() * 2 ** 31);
  else if (rawSeed !== undefined && rawSeed !== '') {
    if (/^-?\d{1,10}$/.test(rawSeed)) seed = Number(rawSeed) | 0;
    else problems.push(`FUZZ_SEED is '${rawSeed}' when it must be a 32-bit integer or 'random'`);
  }

  let targets: TargetName[] = [...TARGET_NAMES];
  const rawTargets = env.FUZZ_TARGET;
  if (rawTargets !== undefined && rawTargets !== '') {
    targets = [];
    for (const t of rawTargets.split(',').map((s) => s.trim())) {
      if ((TARGET_NAMES as readonly string[]).includes(t)) targets.push(t as TargetName);
      else problems.push(`FUZZ_TARGET names '${t}' when the targets are ${TARGET_NAMES.join(', ')}`);
    }
  }

  const path = env.FUZZ_PATH === undefined || env.FUZZ_PATH === '' ? null : env.FUZZ_PATH;
  if (path !== null && !/^\d+(:\d+)*$/.test(path))
    problems.push(`FUZZ_PATH is '${path}' when it must be a path such as 12:0:3 (printed with a failure)`);
  if (path !== null && targets.length !== 1)
    problems.push('FUZZ_PATH replays one input of one target: set FUZZ_TARGET to that target');

  let ignore: RegExp | null = null;
  if (env.FUZZ_IGNORE !== undefined && env.FUZZ_IGNORE !== '') {
    try {
      ignore = new RegExp(env.FUZZ_IGNORE);
    } catch (error) {
      problems.push(`FUZZ_IGNORE is not a regular expression: ${(error as Error).message}`);
    }
  }

  if (problems.length > 0) throw new Error(`Invalid fuzz environment:\n  - ${problems.join('\n  - ')}`);
  return { seconds, shrinkSeconds, seed, path, targets, answerMs, pongGapMs, rssGrowthMiB, ignore };
}

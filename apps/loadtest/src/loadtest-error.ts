/**
 * Thrown when load-test options are invalid. Lists every problem at once, one per line, so a
 * command line is fixed in one pass.
 */
export class LoadtestOptionsError extends Error {
  override readonly name = 'LoadtestOptionsError';
  /** Always `invalid_options`. */
  readonly code = 'invalid_options';
  /** Each problem, as a sentence naming the option, the value and what it must be. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid load-test options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/** Thrown when a run cannot take place at all (e.g. no connection could be opened). */
export class LoadtestRunError extends Error {
  override readonly name = 'LoadtestRunError';
  /**
   * What went wrong: `no_connections`, `no_publisher`, or `no_history` (the `recovery`
   * scenario's channels have no history to recover from).
   */
  readonly code: 'no_connections' | 'no_publisher' | 'no_history';

  constructor(code: 'no_connections' | 'no_publisher' | 'no_history', message: string) {
    super(message);
    this.code = code;
  }
}

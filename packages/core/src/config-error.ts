/**
 * Thrown when options are invalid. Lists every problem at once, one per line, so that a
 * misconfigured deployment is fixed in one pass.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Always `invalid_config`. */
  readonly code = 'invalid_config';
  /** Each problem, as a sentence naming the option, the value and what it must be. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], subject = 'gateway options') {
    super(`Invalid ${subject}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

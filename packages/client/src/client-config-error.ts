/**
 * Invalid options of `createClient`. Lists every problem at once, in `problems`.
 *
 * @example
 * createClient({ url: 'http://x' }) // ClientConfigError: invalid client options: url must start with ws:// or wss://…
 */
export class ClientConfigError extends Error {
  override readonly name = 'ClientConfigError';
  /** Always `invalid_options`. */
  readonly code = 'invalid_options';
  /** Each problem, as a sentence. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid client options: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

import type fc from 'fast-check';
import type { GatewayUnderTest } from './gateway-under-test';

/** The properties the suite checks; each failure names one. */
export type PropertyName =
  /** The gateway process never exits. */
  | 'process-alive'
  /** Every socket is answered (an HTTP response, the reply to the sentinel ping) or closed within the bound. */
  | 'answered-or-closed'
  /** The first frame after an upgrade is `welcome`. */
  | 'welcome-first'
  /** No HTTP 500, no close 1011, no `internal_error` reply: client input never reaches an unhandled fault. */
  | 'no-internal-error'
  /** Answers are well formed: an HTTP status line, JSON objects with a string `type`, unmasked frames. */
  | 'well-formed-answers'
  /** No error, `unhandled` or `uncaught` line (and nothing that is not a JSON log line) in the gateway's output. */
  | 'clean-log'
  /** The well-behaved client gets every pong within the gap and is never closed. */
  | 'pongs'
  /** The gateway's resident memory grows by less than the bound over the run. */
  | 'bounded-memory'
  /** SIGTERM at the end drains and exits 0. */
  | 'clean-stop';

/** An input broke a property of the gateway. */
export class PropertyViolation extends Error {
  override readonly name = 'PropertyViolation';
  constructor(
    readonly property: PropertyName,
    readonly detail: string,
  ) {
    super(`[${property}] ${detail}`);
  }
}

/** What a target's input is sent with. */
export interface ExerciseContext {
  readonly gateway: GatewayUnderTest;
  /** How long the gateway has to answer or close. */
  readonly answerMs: number;
}

/** One of the three fuzz targets: what it generates, and how one input is sent and judged. */
export interface FuzzTarget<T> {
  readonly name: TargetName;
  /** One line for the test's title. */
  readonly title: string;
  /** Share of FUZZ_SECONDS it gets when every target runs. */
  readonly weight: number;
  readonly arbitrary: fc.Arbitrary<T>;
  /**
   * Sends one input and checks the gateway's answer; throws {@link PropertyViolation} when it
   * breaks a property. Resolves with a short label of what happened (for the run's summary).
   */
  exercise(input: T, ctx: ExerciseContext): Promise<string>;
  /** The input, readable and replayable by hand (long strings shortened). */
  describe(input: T): string;
}

/** The fuzz targets' names, as FUZZ_TARGET takes them. */
export const TARGET_NAMES = ['frames', 'upgrade', 'http'] as const;
/** A fuzz target's name. */
export type TargetName = (typeof TARGET_NAMES)[number];

/** Log levels, least to most severe, and `silent`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Structured fields of a log line. */
export type LogFields = Record<string, unknown>;

/** What the gateway logs through; pino, console and most loggers fit it. */
export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** The log levels in order. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * A logger that writes one JSON object per line to stderr (`warn`, `error`) or stdout.
 *
 * @param level - the least severe level written. @default 'info'
 */
export function createConsoleLogger(level: LogLevel = 'info', bindings: LogFields = {}): Logger {
  const min = RANK[level];
  const write = (lvl: Exclude<LogLevel, 'silent'>, fields: LogFields, msg: string) => {
    if (RANK[lvl] < min) return;
    const line = JSON.stringify(
      { time: new Date().toISOString(), level: lvl, msg, ...bindings, ...fields },
      errorReplacer,
    );
    (RANK[lvl] >= RANK.warn ? process.stderr : process.stdout).write(`${line}\n`);
  };
  return {
    debug: (f, m) => write('debug', f, m),
    info: (f, m) => write('info', f, m),
    warn: (f, m) => write('warn', f, m),
    error: (f, m) => write('error', f, m),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      type: value.name,
      message: value.message,
      ...(code === undefined ? {} : { code }),
      stack: value.stack,
    };
  }
  return value;
}

/** A logger that writes nothing. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

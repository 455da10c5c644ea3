import { hostname } from 'node:os';
import type { LogLevel } from '@dotmac-ws/core';
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** The least severe level written. @default 'info' */
  level?: LogLevel;
  /** Fields on every line (e.g. `{ service: 'gateway' }`). @default {} */
  base?: Record<string, unknown>;
  /** More paths to redact, in pino's syntax (`a.b`, `*.c`, `a["x-y"]`). @default [] */
  redact?: readonly string[];
  /** Where lines go. @default standard output */
  destination?: DestinationStream;
}

/** The value a redacted field or token is replaced with. */
export const REDACTED = '[Redacted]';

/** Field names whose values are never logged, at any of the first three levels. */
export const SECRET_KEYS: readonly string[] = [
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'jwt',
  'password',
  'secret',
  'client_secret',
  'apiKey',
  'api_key',
  'authorization',
  'Authorization',
  'cookie',
  'set-cookie',
];

const SECRET_PATHS = SECRET_KEYS.flatMap((k) => {
  const plain = /^[A-Za-z_$][\w$]*$/.test(k);
  const top = plain ? k : `["${k}"]`;
  const nested = plain ? `.${k}` : `["${k}"]`;
  return [top, `*${nested}`, `*.*${nested}`];
});

/** JWTs, bearer credentials and `token=` query parameters inside free text. */
const SECRET_TEXT =
  /\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*|\b(Bearer|Basic)\s+[\w\-.~+/=]+|([?&](?:token|access_token|api_key)=)[^&\s"]+/gi;

/** Replaces JWTs, bearer credentials and token query parameters in `text`. */
export function scrubSecrets(text: string): string {
  return text.replace(SECRET_TEXT, (_m, scheme: string | undefined, param: string | undefined) =>
    scheme !== undefined ? `${scheme} ${REDACTED}` : param !== undefined ? `${param}${REDACTED}` : REDACTED,
  );
}

/**
 * A pino logger that fits core's `Logger` (pass it as the gateway's `logger`). It writes one
 * JSON object per line with `time` (ISO), `level` (its name) and `msg`; `error` fields are
 * serialized with their stack. Secrets never reach the output: fields named in
 * {@link SECRET_KEYS} (and `redact`) are replaced with `[Redacted]`, and JWTs, bearer
 * credentials and `?token=` values are scrubbed from the message and from string fields.
 *
 * @example
 * const logger = createLogger({ level: 'info', base: { service: 'gateway' } })
 * new WebSocketGateway({ logger })
 */
export function createLogger(options: CreateLoggerOptions = {}): PinoLogger {
  const config = {
    level: options.level ?? 'info',
    base: { pid: process.pid, hostname: hostname(), ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...SECRET_PATHS, ...(options.redact ?? [])], censor: REDACTED },
    serializers: { error: pino.stdSerializers.err, err: pino.stdSerializers.err },
    formatters: {
      level: (label: string) => ({ level: label }),
      log: (fields: Record<string, unknown>) => scrubFields(fields),
    },
    hooks: {
      logMethod(this: PinoLogger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)),
        );
      },
    },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

function scrubFields(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(fields)) {
    let clean: unknown = v;
    if (typeof v === 'string') clean = scrubSecrets(v);
    else if (v instanceof Error) clean = scrubError(v);
    if (clean !== v) {
      out ??= { ...fields };
      out[k] = clean;
    }
  }
  return out ?? fields;
}

function scrubError(error: Error): unknown {
  const message = scrubSecrets(error.message);
  const stack = error.stack === undefined ? undefined : scrubSecrets(error.stack);
  if (message === error.message && stack === error.stack) return error;
  const code = (error as { code?: unknown }).code;
  return { type: error.name, message, ...(stack ? { stack } : {}), ...(code === undefined ? {} : { code }) };
}

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startProcess, type TestProcess } from '@dotmac-ws/test-utils';

/** The built reference gateway, through this package's dependency on `@dotmac-ws/gateway`. */
const MAIN = fileURLToPath(new URL('../node_modules/@dotmac-ws/gateway/dist/main.js', import.meta.url));

/** The largest inbound frame of the gateway under test (small, so that limits are reached). */
export const MAX_MESSAGE_BYTES = 16_384;
/** The HTTP API key of the gateway under test. */
export const API_KEY = 'fuzz-api-key-0123456789';
/** The HS256 secret of the gateway under test's tokens. */
export const JWT_SECRET = 'fuzz-jwt-secret-0123456789abcdef0123456789';
/** Origins the gateway under test allows. */
export const ALLOWED_ORIGINS = ['http://127.0.0.1', 'http://localhost'] as const;
/** Base domain of subdomain tenants (`acme.example.test`). */
export const SUBDOMAIN_BASE = 'example.test';

/**
 * The environment of the gateway under test: every limit on and small, authentication and
 * the HTTP API on, clients allowed to publish, proxies trusted (so that `X-Forwarded-For` is
 * read), logs at `info` as JSON lines (checked for errors after every input).
 */
export const FUZZ_GATEWAY_ENV: Readonly<Record<string, string>> = {
  WS_HOST: '127.0.0.1',
  WS_PORT: '0',
  WS_PATH: '/ws',
  LOG_LEVEL: 'info',
  GATEWAY_PROFILE: 'development',
  BACKEND: 'memory',
  MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
  MAX_BUFFERED_BYTES: '65536',
  MAX_SUBSCRIPTIONS_PER_SESSION: '16',
  HEARTBEAT_MS: '1000',
  DRAIN_TIMEOUT_MS: '2000',
  CLIENT_PUBLISH: 'true',
  TRUST_PROXY: 'loopback',
  ALLOWED_ORIGINS: ALLOWED_ORIGINS.join(','),
  TENANT_SUBDOMAIN_BASE: SUBDOMAIN_BASE,
  API_KEY,
  JWT_SECRET_KEY: JWT_SECRET,
  REQUIRE_TOKEN: 'false',
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_STORE: 'memory',
  // 20 frames a second per address: the well-behaved client's pings fit, a flood does not.
  MESSAGES_PER_MINUTE: '1200',
  BURST_SIZE: '20',
  RATE_LIMIT_CLOSE_AFTER: '10',
  MAX_CONNECTIONS_PER_IP: '8',
  MAX_CONNECTIONS_PER_USER: '4',
  MAX_CONNECTIONS_PER_TENANT: '32',
  METRICS_ENABLED: 'true',
  DEMO_ENABLED: 'true',
};

/** A log line is unexpected when it is an error, mentions an unhandled/uncaught fault, or is not JSON. */
export function isUnexpectedLogLine(line: string): boolean {
  if (line.trim() === '') return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return true;
  }
  if (parsed === null || typeof parsed !== 'object') return true;
  const { level, msg } = parsed as { level?: unknown; msg?: unknown };
  if (level === 'error' || level === 'fatal' || (typeof level === 'number' && level >= 50)) return true;
  return typeof msg === 'string' && /unhandled|uncaught/i.test(msg);
}

/** A reference gateway process (`apps/gateway/dist/main.js`) started for fuzzing, on a port it picked. */
export class GatewayUnderTest {
  private constructor(
    readonly proc: TestProcess,
    readonly port: number,
  ) {}

  /** Starts the gateway with {@link FUZZ_GATEWAY_ENV}; resolves once it logged `ready`. */
  static async start(): Promise<GatewayUnderTest> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm build\` first`);
    const proc = startProcess(process.execPath, [MAIN], { env: { ...FUZZ_GATEWAY_ENV } });
    const ready = await proc.line((l) => l.includes('"msg":"ready"'), 15_000);
    const port = Number(/ws:\/\/127\.0\.0\.1:(\d+)\//.exec(ready)?.[1]);
    if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in the ready line: ${ready}`);
    return new GatewayUnderTest(proc, port);
  }

  /** The process id. */
  get pid(): number {
    return this.proc.child.pid ?? -1;
  }

  /** True while the process runs. */
  alive(): boolean {
    return this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  /** How the process ended, e.g. `exit code 1` or `signal SIGABRT`. */
  exitDescription(): string {
    const { exitCode, signalCode } = this.proc.child;
    return signalCode !== null ? `signal ${signalCode}` : `exit code ${exitCode}`;
  }

  /** A position in the output; {@link unexpectedLines} reads from there. */
  logMark(): number {
    return this.proc.output().length;
  }

  /** The unexpected lines ({@link isUnexpectedLogLine}) printed since `mark`. */
  unexpectedLines(mark = 0): string[] {
    return this.proc.output().slice(mark).split('\n').filter(isUnexpectedLogLine);
  }

  /** The last `n` lines of output. */
  tail(n = 20): string {
    return this.proc.output().trimEnd().split('\n').slice(-n).join('\n');
  }

  /** Resident memory of the process in KiB (from /proc), or null when it cannot be read. */
  rssKiB(): number | null {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
      return kb === undefined ? null : Number(kb);
    } catch {
      return null;
    }
  }

  /** SIGTERM, then resolves with the exit code and how long the drain took (SIGKILL after `ms`). */
  async stop(ms = 15_000): Promise<{ code: number | null; ms: number }> {
    const started = Date.now();
    const code = await this.proc.stop('SIGTERM', ms);
    return { code, ms: Date.now() - started };
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import {
  AuthError,
  type Authenticator,
  type GatewayOptions,
  silentLogger,
  WebSocketGateway,
  type WebSocketSession,
} from '@dotmac-ws/core';
import {
  freePort,
  isReachable,
  onCleanup,
  SHARED_REDIS,
  sharedServiceMissing,
  type TestClient,
  waitUntil,
} from '@dotmac-ws/test-utils';
import { Redis } from 'ioredis';
import { createRateLimiter, type RateLimiter, type RateLimitOptions } from '../src';

/** A started gateway with the limiter, and its URL. */
export interface LimitedGateway {
  gw: WebSocketGateway;
  limiter: RateLimiter;
  url: string;
}

/**
 * Stands in for an authenticator: `x-test-user` / `x-test-tenant` headers become the
 * handshake identity, as a verified token would. Registered before the limiter.
 */
const testIdentity = {
  name: 'test-identity',
  connection: async (
    ctx: Parameters<NonNullable<RateLimiter['connection']>>[0],
    next: () => Promise<void>,
  ) => {
    const user = ctx.request.headers['x-test-user'];
    const tenant = ctx.request.headers['x-test-tenant'];
    if (typeof tenant === 'string') ctx.tenantId = tenant;
    if (typeof user === 'string') ctx.identity = { userId: user, tenantId: ctx.tenantId };
    await next();
  },
};

/** Accepts tokens `user:<id>` and `user:<id>@<tenant>` (for in-band auth); refuses the rest. */
export const userTokens: Authenticator = {
  authenticate(token) {
    const m = /^user:([^@]+)(?:@(.+))?$/.exec(token);
    if (m === null) throw new AuthError('bad_signature', 'not a test token');
    return { userId: m[1]!, tenantId: m[2] ?? null };
  },
};

/** Starts a gateway on port 0 with the test identity middleware and a rate limiter. */
export async function startLimited(
  limits: RateLimitOptions,
  options: GatewayOptions = {},
): Promise<LimitedGateway> {
  const limiter = createRateLimiter(limits);
  onCleanup(() => limiter.close());
  const gw = new WebSocketGateway({ port: 0, host: '127.0.0.1', logger: silentLogger, ...options });
  gw.use(testIdentity).use(limiter);
  await gw.start();
  onCleanup(() => gw.stop());
  return { gw, limiter, url: `ws://127.0.0.1:${gw.address()!.port}/ws` };
}

/** True when the shared Redis answers; under CI an absent Redis fails the run instead. */
export async function sharedRedisUp(): Promise<boolean> {
  const missing = await sharedServiceMissing(SHARED_REDIS);
  if (missing) console.warn(`skipping Redis tests: ${missing}`);
  return missing === false;
}

/** An ioredis client that fails fast while Redis is away (no offline queue), closed after the test. */
export async function redisClient(port = 6379): Promise<Redis> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 100,
    lazyConnect: true,
  });
  redis.on('error', () => undefined);
  onCleanup(() => redis.disconnect());
  await redis.connect();
  return redis;
}

/** A key prefix no other run shares. */
export function uniquePrefix(): string {
  return `dotmac-test:rl:${process.pid}:${Date.now().toString(36)}:${Math.floor(Math.random() * 1e6)}`;
}

/** Deletes every key under `prefix` after the test. */
export function cleanKeys(redis: Redis, prefix: string): void {
  onCleanup(async () => {
    if (redis.status !== 'ready') return;
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  });
}

/** Starts a private redis-server on `port` (a free one by default); killed after the test. */
export async function startOwnRedis(
  port?: number,
): Promise<{ port: number; proc: ChildProcess; kill(): Promise<void> }> {
  port ??= await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  onCleanup(kill);
  const p = port;
  await waitUntil(() => isReachable('127.0.0.1', p, 200), 5000, `redis-server on port ${p}`);
  return { port, proc, kill };
}

/** TestClient options to connect from 127.0.0.{n}, with extra headers. */
export function from(n: number, headers: Record<string, string> = {}) {
  return { localAddress: `127.0.0.${n}`, headers };
}

/** The server-side session of `c` (waits for its welcome). */
export async function sessionOf(gw: WebSocketGateway, c: TestClient): Promise<WebSocketSession> {
  const welcome = await c.welcome();
  return gw.getSession((welcome.data as { session_id: string }).session_id)!;
}

import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { ResolvedGatewayConfig } from './config';
import { errorMessage } from './error-message';
import type { ComponentHealth, GatewayHealth, HealthStatus } from './health';
import { worstStatus } from './health';

/** Share of `maxConnections` from which the `sessions` component reports `degraded`. */
export const NEAR_CAPACITY_RATIO = 0.9;

/** Event-loop delay (99th percentile since the previous check) above which `sessions` is `degraded`. */
export const EVENT_LOOP_DELAY_DEGRADED_MS = 500;

/** What the health check reads of the node. @internal */
export interface HealthNode {
  readonly nodeId: string;
  readonly config: ResolvedGatewayConfig;
  readonly state: string;
  readonly startedAt: number;
  readonly sessions: number;
  readonly authenticated: number;
  readonly channels: number;
  readonly subscriptions: number;
}

/**
 * `GET /health`: the server (running, draining or down), the sessions (degraded near
 * `maxConnections`, or when the event loop lags: the node then serves its sessions late) and
 * the scaling backend (a lost backend degrades, it does not take the node down). @internal
 */
/** A health component an application or package adds (`gateway.addHealthComponent`). */
export type HealthComponentCheck = () => ComponentHealth | Promise<ComponentHealth>;

/** Names of the components the gateway reports itself. */
export const BUILT_IN_COMPONENTS: ReadonlySet<string> = new Set([
  'server',
  'sessions',
  'scaling_backend',
  'history',
  'presence',
]);

export class HealthCheck {
  #delay: IntervalHistogram | undefined;
  readonly #extra = new Map<string, HealthComponentCheck>();

  /** Adds (or replaces) a component; returns a function that removes it. */
  add(name: string, check: HealthComponentCheck): () => void {
    this.#extra.set(name, check);
    return () => {
      if (this.#extra.get(name) === check) this.#extra.delete(name);
    };
  }

  /** Starts measuring the event-loop delay. */
  start(): void {
    this.#delay ??= monitorEventLoopDelay({ resolution: 20 });
    this.#delay.enable();
  }

  /** Stops measuring. */
  stop(): void {
    this.#delay?.disable();
  }

  async check(node: HealthNode): Promise<GatewayHealth> {
    const config = node.config;
    const serverStatus: HealthStatus =
      node.state === 'running' ? 'healthy' : node.state === 'draining' ? 'degraded' : 'unhealthy';
    const server: ComponentHealth = {
      status: serverStatus,
      state: node.state,
      node_id: node.nodeId,
      uptime_s: node.startedAt === 0 ? 0 : Math.round((Date.now() - node.startedAt) / 1000),
    };
    const sessions: ComponentHealth = {
      status: 'healthy',
      total_sessions: node.sessions,
      authenticated_sessions: node.authenticated,
      channels: node.channels,
      subscriptions: node.subscriptions,
    };
    const reasons: string[] = [];
    const cap = config.maxConnections;
    if (cap > 0 && node.sessions >= cap * NEAR_CAPACITY_RATIO) {
      reasons.push('near_capacity');
      sessions.max_connections = cap;
    }
    const delay = this.#delay;
    if (delay !== undefined && delay.count > 0) {
      const p99Ms = delay.percentile(99) / 1e6;
      // From here on: the next check sees the delay since this one (the first tick after a
      // reset only sets the baseline).
      delay.reset();
      if (p99Ms > EVENT_LOOP_DELAY_DEGRADED_MS) {
        reasons.push('event_loop_delay');
        sessions.event_loop_delay_p99_ms = Math.round(p99Ms);
      }
    }
    if (reasons.length > 0) {
      sessions.status = 'degraded';
      sessions.reasons = reasons;
    }
    let backend: ComponentHealth;
    try {
      backend = await withTimeout(config.backend.health(), 2000, 'backend health check timed out');
    } catch (error) {
      backend = {
        status: 'unhealthy',
        backend: config.backend.name,
        error: errorMessage(error),
      };
    }
    // A lost backend leaves this node serving its own sessions: degraded, not down.
    const backendEffect: HealthStatus = backend.status === 'healthy' ? 'healthy' : 'degraded';
    const components: Record<string, ComponentHealth> = { server, sessions, scaling_backend: backend };
    const effects: HealthStatus[] = [serverStatus, sessions.status, backendEffect];
    // The stores that tell their health (Redis, NATS; the memory ones have none to tell), then the
    // added components (an application-backend proxy…): checked together, each can degrade the
    // node, none takes it down.
    const checks: [string, HealthComponentCheck][] = [];
    const { history, presence } = config;
    if (history.health !== undefined) checks.push(['history', history.health.bind(history)]);
    if (presence.health !== undefined) checks.push(['presence', presence.health.bind(presence)]);
    checks.push(...this.#extra);
    const results = await Promise.all(checks.map(([name, check]) => componentHealth(name, check)));
    checks.forEach(([name], i) => {
      const c = results[i] as ComponentHealth;
      components[name] = c;
      effects.push(c.status === 'healthy' ? 'healthy' : 'degraded');
    });
    return { status: worstStatus(effects), components };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** One component's health within 2 s; a check that throws or takes longer reads as unhealthy. */
async function componentHealth(name: string, check: HealthComponentCheck): Promise<ComponentHealth> {
  try {
    return await withTimeout(Promise.resolve(check()), 2000, `the ${name} health check timed out`);
  } catch (error) {
    return { status: 'unhealthy', error: errorMessage(error) };
  }
}

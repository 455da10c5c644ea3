import { errorText, type Logger } from '@dotmac-ws/core';
import { type BreakerState, CircuitBreaker } from './circuit-breaker';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { createAgents, type HttpAgents, PostFailure, postJson } from './http-post';
import { family, Histogram, labels } from './metrics-text';
import { PROXY_ROUTES, type ProxyDecision, type ProxyRoute, parseProxyAnswer } from './proxy-answer';
import { ProxyFailure, type ProxyFailureReason } from './proxy-failure';
import type { ResolvedProxyOptions } from './proxy-options';
import { signatureHeaders } from './signature';

/** How a proxy request ended: the application's decision, or why there was none. */
export type ProxyOutcome = ProxyDecision['kind'] | ProxyFailureReason;

/** Counters of one proxy route. */
export interface ProxyRouteStats {
  /** `closed`, `open` or `half_open`. */
  breaker: BreakerState;
  /** How many times the breaker opened. */
  breaker_opened: number;
  /** Failures in a row now. */
  failures_in_a_row: number;
  /** Requests by outcome. */
  outcomes: Partial<Record<ProxyOutcome, number>>;
}

/** Counters of the proxy on this node. */
export interface ProxyStats {
  /** Requests running now. */
  in_flight: number;
  /** Requests waiting for a slot now. */
  queued: number;
  /** Per route that has a URL. */
  routes: Partial<Record<ProxyRoute, ProxyRouteStats>>;
}

interface Route {
  url: URL;
  breaker: CircuitBreaker;
  outcomes: Partial<Record<ProxyOutcome, number>>;
  latency: Histogram;
}

/**
 * Sends proxy requests: one circuit breaker per route, one concurrency limit for the node, one
 * deadline per request (the wait for a slot included), a signature on each. `ask` resolves with
 * the application's decision or rejects with a {@link ProxyFailure}; it never hangs. @internal
 */
export class ProxyClient {
  readonly #o: ResolvedProxyOptions;
  readonly #logger: Logger;
  readonly #limiter: ConcurrencyLimiter;
  readonly #agents: HttpAgents;
  readonly #routes = new Map<ProxyRoute, Route>();

  constructor(options: ResolvedProxyOptions, logger: Logger) {
    this.#o = options;
    this.#logger = logger;
    this.#limiter = new ConcurrencyLimiter(options.maxConcurrency, options.maxQueue);
    this.#agents = createAgents(options.maxConcurrency);
    for (const route of PROXY_ROUTES) {
      const url = options.urls[route];
      if (url === undefined) continue;
      this.#routes.set(route, {
        url,
        breaker: new CircuitBreaker(options.breakerFailures, options.breakerCooldownMs),
        outcomes: {},
        latency: new Histogram(),
      });
    }
  }

  /** True when `route` has a URL. */
  has(route: ProxyRoute): boolean {
    return this.#routes.has(route);
  }

  /**
   * Asks the application; resolves with its decision, rejects with a {@link ProxyFailure}.
   * `check` names what is wrong with a `result` of this route (null when it is valid): an
   * invalid result is a failure of the application like an unreadable answer.
   */
  async ask(
    route: ProxyRoute,
    request: Record<string, unknown>,
    check?: (result: Readonly<Record<string, unknown>>) => string | null,
  ): Promise<ProxyDecision> {
    const r = this.#routes.get(route);
    if (r === undefined) throw new Error(`the proxy route ${route} has no URL`);
    const o = this.#o;
    const started = Date.now();
    const admission = r.breaker.admit(started);
    if (!admission.admitted) {
      throw this.#fail(r, 'breaker_open', `the ${route} proxy is failing: not asked`, admission.retryAfterMs);
    }
    const slot = await this.#limiter.acquire(o.timeoutMs);
    if (typeof slot === 'string') {
      r.breaker.abandoned();
      throw this.#fail(r, 'overloaded', `too many ${route} proxy requests at once (${slot})`, o.retryAfterMs);
    }
    const body = JSON.stringify({ route, ...request });
    const sentAt = Date.now();
    try {
      const answer = await postJson(r.url, body, {
        timeoutMs: Math.max(1, o.timeoutMs - (sentAt - started)),
        maxBytes: o.maxAnswerBytes,
        headers: signatureHeaders(o.secret, body, sentAt),
        agents: this.#agents,
      });
      r.latency.observe(Date.now() - sentAt);
      if (answer.status < 200 || answer.status > 299) {
        throw this.#failed(r, route, 'bad_status', `the ${route} proxy answered HTTP ${answer.status}`);
      }
      const decision = parseProxyAnswer(answer.body);
      const problem =
        typeof decision === 'string'
          ? decision
          : decision.kind === 'result'
            ? (check?.(decision.result) ?? null)
            : null;
      if (problem !== null || typeof decision === 'string') {
        throw this.#failed(r, route, 'invalid_answer', `the ${route} proxy's answer is invalid: ${problem}`);
      }
      this.#succeeded(r, route);
      count(r, decision.kind);
      return decision;
    } catch (error) {
      if (error instanceof ProxyFailure) throw error;
      const reason = error instanceof PostFailure && error.reason === 'timeout' ? 'timeout' : 'unreachable';
      const why = error instanceof PostFailure && error.reason === 'too_large' ? 'invalid_answer' : reason;
      throw this.#failed(r, route, why, `the ${route} proxy failed: ${errorText(error)}`);
    } finally {
      slot();
    }
  }

  /** Counters of every route. */
  stats(): ProxyStats {
    const routes: Partial<Record<ProxyRoute, ProxyRouteStats>> = {};
    for (const [route, r] of this.#routes) {
      routes[route] = {
        breaker: r.breaker.state(),
        breaker_opened: r.breaker.opened,
        failures_in_a_row: r.breaker.failuresInARow,
        outcomes: { ...r.outcomes },
      };
    }
    return { in_flight: this.#limiter.active, queued: this.#limiter.queued, routes };
  }

  /** The routes whose breaker is not closed. */
  breakersNotClosed(): ProxyRoute[] {
    return [...this.#routes].filter(([, r]) => r.breaker.state() !== 'closed').map(([route]) => route);
  }

  /** The Prometheus text of the proxy metrics. */
  metrics(): string {
    const outcomes: string[] = [];
    const breaker: string[] = [];
    const opened: string[] = [];
    const latency: string[] = [];
    const state = { closed: 0, half_open: 1, open: 2 } as const;
    for (const [route, r] of this.#routes) {
      for (const [outcome, n] of Object.entries(r.outcomes)) {
        outcomes.push(`dotmac_ws_proxy_requests_total{${labels({ route, outcome })}} ${n}`);
      }
      breaker.push(`dotmac_ws_proxy_breaker_state{${labels({ route })}} ${state[r.breaker.state()]}`);
      opened.push(`dotmac_ws_proxy_breaker_opened_total{${labels({ route })}} ${r.breaker.opened}`);
      latency.push(...r.latency.lines('dotmac_ws_proxy_request_duration_seconds', labels({ route })));
    }
    return [
      family(
        'dotmac_ws_proxy_requests_total',
        'counter',
        'Proxy requests by route and outcome (result, error, disconnect, or the failure).',
        outcomes,
      ),
      family(
        'dotmac_ws_proxy_request_duration_seconds',
        'histogram',
        'Duration of the proxy requests sent to the application.',
        latency,
      ),
      family(
        'dotmac_ws_proxy_breaker_state',
        'gauge',
        'Circuit breaker of each proxy route: 0 closed, 1 half-open, 2 open.',
        breaker,
      ),
      family(
        'dotmac_ws_proxy_breaker_opened_total',
        'counter',
        'How many times each breaker opened.',
        opened,
      ),
      family('dotmac_ws_proxy_in_flight', 'gauge', 'Proxy requests running now.', [
        `dotmac_ws_proxy_in_flight ${this.#limiter.active}`,
      ]),
      family('dotmac_ws_proxy_queued', 'gauge', 'Proxy requests waiting for a slot now.', [
        `dotmac_ws_proxy_queued ${this.#limiter.queued}`,
      ]),
    ].join('');
  }

  /** Closes the idle keep-alive connections. */
  close(): void {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  #succeeded(r: Route, route: ProxyRoute): void {
    const was = r.breaker.state();
    r.breaker.succeeded();
    if (was !== 'closed') this.#logger.info({ component: 'app-backend', route }, 'proxy breaker closed');
  }

  /** A failure of the application: counted by the breaker. */
  #failed(r: Route, route: ProxyRoute, reason: ProxyFailureReason, message: string): ProxyFailure {
    const was = r.breaker.state();
    r.breaker.failed();
    const now = r.breaker.state();
    if (now === 'open' && was !== 'open') {
      this.#logger.warn(
        { component: 'app-backend', route, reason, failures_in_a_row: r.breaker.failuresInARow },
        'proxy breaker opened: requests are refused with proxy_unavailable until a trial succeeds',
      );
    }
    const retryAfterMs = now === 'open' ? this.#o.breakerCooldownMs : this.#o.retryAfterMs;
    return this.#fail(r, reason, message, retryAfterMs);
  }

  #fail(r: Route, reason: ProxyFailureReason, message: string, retryAfterMs: number): ProxyFailure {
    count(r, reason);
    // An invalid answer is a bug of the application: the operator must see what is wrong.
    this.#logger[reason === 'invalid_answer' ? 'warn' : 'debug'](
      { component: 'app-backend', reason, error: message },
      'proxy request failed',
    );
    return new ProxyFailure(reason, message, retryAfterMs);
  }
}

function count(r: Route, outcome: ProxyOutcome): void {
  r.outcomes[outcome] = (r.outcomes[outcome] ?? 0) + 1;
}

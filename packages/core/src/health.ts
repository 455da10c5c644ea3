/** The health of one component, or of the gateway as a whole. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** What a component reports in `GET /health`. */
export interface ComponentHealth {
  /** The component's status. */
  status: HealthStatus;
  /** Anything else worth reporting, in snake_case. */
  [detail: string]: unknown;
}

/** The body of `GET /health`. */
export interface GatewayHealth {
  /** `unhealthy` if any component is, else `degraded` if any component is, else `healthy`. */
  status: HealthStatus;
  /** The components: `server`, `sessions`, `scaling_backend`. */
  components: Record<string, ComponentHealth>;
}

/** Worst-of: `unhealthy` beats `degraded` beats `healthy`. */
export function worstStatus(statuses: Iterable<HealthStatus>): HealthStatus {
  let worst: HealthStatus = 'healthy';
  for (const s of statuses) {
    if (s === 'unhealthy') return s;
    if (s === 'degraded') worst = s;
  }
  return worst;
}

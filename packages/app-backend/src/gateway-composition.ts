import { type ComponentHealth, type WebSocketGateway, worstStatus } from '@dotmac-ws/core';

/**
 * Adds a component to the gateway's `GET /health` (and `healthCheck()`): its status counts
 * toward the overall one like any other component's; without the API key, only its status is
 * shown. Core has no registry of health components yet, so this wraps the gateway's
 * `healthCheck` method; call it once per component.
 *
 * @example
 * addHealthComponent(gateway, 'app_backend', () => appBackend.health())
 */
export function addHealthComponent(
  gateway: WebSocketGateway,
  name: string,
  check: () => ComponentHealth,
): void {
  const base = gateway.healthCheck.bind(gateway);
  gateway.healthCheck = async () => {
    const health = await base();
    const component = check();
    return {
      status: worstStatus([health.status, component.status]),
      components: { ...health.components, [name]: component },
    };
  };
}

/**
 * Appends `text` (Prometheus text) to what `GET /metrics` serves, when the gateway's
 * observability hooks provide the metrics (as `@dotmac-ws/observability` does). Returns false,
 * changing nothing, when they do not: core's own basic set cannot be extended, so serve
 * `text()` yourself then. Call it after the observability hooks are set.
 *
 * @example
 * appendMetrics(gateway, () => appBackend.metrics())
 */
export function appendMetrics(gateway: WebSocketGateway, text: () => string): boolean {
  const hooks = gateway.observabilityHooks;
  const base = hooks?.metrics;
  if (hooks === undefined || base === undefined) return false;
  hooks.metrics = async () => {
    const before = await base.call(hooks);
    return `${before}${before === '' || before.endsWith('\n') ? '' : '\n'}${text()}`;
  };
  return true;
}

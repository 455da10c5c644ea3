/**
 * `@dotmac-ws/core/testkit`: the conformance suite every `Backend` runs, for use inside vitest
 * (an optional peer dependency of core).
 *
 * @packageDocumentation
 */
export {
  BACKEND_STAT_KEYS,
  type BackendConformanceOptions,
  type ClusterNeeds,
  type ConformanceCluster,
  runBackendConformance,
} from './backend-conformance';

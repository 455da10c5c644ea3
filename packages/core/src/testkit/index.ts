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
export {
  type HistoryStoreCluster,
  type HistoryStoreConformanceOptions,
  runHistoryStoreConformance,
} from './history-store-conformance';
export {
  type PresenceStoreCluster,
  type PresenceStoreConformanceOptions,
  runPresenceStoreConformance,
} from './presence-store-conformance';

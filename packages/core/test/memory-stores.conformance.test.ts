import { MemoryHistoryStore, MemoryPresenceStore } from '../src/index';
import { runHistoryStoreConformance, runPresenceStoreConformance } from '../src/testkit/index';

// One store per cluster, shared by its "nodes": that is how gateways of one process share history.
runHistoryStoreConformance({
  name: 'MemoryHistoryStore',
  createCluster: () => {
    const store = new MemoryHistoryStore();
    return { createStore: () => store };
  },
});

runPresenceStoreConformance({
  name: 'MemoryPresenceStore',
  createCluster: () => {
    const store = new MemoryPresenceStore();
    return { createStore: () => store };
  },
});

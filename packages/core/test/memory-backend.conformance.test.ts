import { MemoryBackend, MemoryBus } from '../src/index';
import { runBackendConformance } from '../src/testkit/index';

// Several gateways in one process, each with its own MemoryBackend on one shared bus per test.
runBackendConformance({
  name: 'MemoryBackend',
  createCluster: () => {
    const bus = new MemoryBus();
    return {
      createBackend: () => new MemoryBackend({ bus }),
      subscriberCount: async (topic) => bus.members(topic).size,
    };
  },
});

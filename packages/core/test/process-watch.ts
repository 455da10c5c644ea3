import { onCleanup } from '@dotmac-ws/test-utils';

/**
 * Records every `unhandledRejection` and `uncaughtException` the process emits until the end
 * of the test: what would take an embedded gateway's process down.
 */
export function watchProcessFaults(): unknown[] {
  const faults: unknown[] = [];
  const record = (reason: unknown) => faults.push(reason);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  onCleanup(() => {
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  });
  return faults;
}

/** Lets pending rejections surface: Node reports them after the microtasks of a turn. */
export function afterRejectionsSurface(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

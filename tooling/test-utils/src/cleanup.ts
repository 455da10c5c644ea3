import { afterEach } from 'vitest';

const tasks: (() => unknown)[] = [];

/**
 * Registers `task` to run after the current test, newest first. Every test file that imports
 * this module gets the `afterEach` hook, so nothing a test starts outlives it.
 */
export function onCleanup(task: () => unknown): void {
  tasks.push(task);
}

afterEach(async () => {
  const errors: unknown[] = [];
  while (tasks.length > 0) {
    const task = tasks.pop()!;
    try {
      await task();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
});

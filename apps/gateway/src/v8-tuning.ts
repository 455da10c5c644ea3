import { setFlagsFromString } from 'node:v8';
import type { EnvConfig } from './env-config';

/**
 * The V8 flag that turns off allocation-site pretenuring. The reference gateway sets it (unless
 * `V8_ALLOCATION_SITE_PRETENURING=true`) because of how a gateway's heap is used: a connection
 * storm makes objects that live as long as their sessions (an idle client's WebSocket receiver
 * keeps the buffers of the last frame it read), V8 then decides that the code allocating them
 * makes long-lived objects and allocates there straight in the old generation from then on;
 * the same code runs for every frame a client sends later, whose objects die at once, and each
 * of them now costs a full mark-compact to free instead of nothing in a scavenge. In the runs
 * measured V8 kept the decision to the end. docs/benchmarks.md ("Pretenuring") has the
 * measurements.
 */
export const NO_PRETENURING_FLAG = '--no-allocation-site-pretenuring';

/**
 * Sets the V8 flags the reference gateway runs with, before it serves anything, and returns
 * them (empty when none). Process-wide: only the process's owner (the CLI) calls it; a program
 * that embeds `@dotmac-ws/core` decides its own flags (docs/deployment.md, "Node and V8").
 *
 * @param set - how a flag is set; `v8.setFlagsFromString` unless a test watches.
 * @default set v8.setFlagsFromString
 */
export function applyV8Tuning(env: EnvConfig, set: (flag: string) => void = setFlagsFromString): string[] {
  if (env.bool('V8_ALLOCATION_SITE_PRETENURING')) return [];
  set(NO_PRETENURING_FLAG);
  return [NO_PRETENURING_FLAG];
}

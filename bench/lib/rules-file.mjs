// Channel rules files for the reference gateway (CHANNEL_RULES_FILE, protocol.md "v1.1
// additions"): every channel subscribable and publishable, with the options a section turns on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const dirs = [];

/**
 * Writes `[{pattern:"*", subscribe:true, publish:true, ...options}]` to a temporary file and
 * returns the gateway environment naming it. The same file shape with no options is the
 * "off" side of every comparison, so both sides run the rules policy.
 */
export function rulesEnv(options = {}) {
  const dir = mkdtempSync(join(os.tmpdir(), 'dotmac-bench-rules-'));
  dirs.push(dir);
  const file = join(dir, 'rules.json');
  writeFileSync(file, JSON.stringify([{ pattern: '*', subscribe: true, publish: true, ...options }]));
  return { CHANNEL_RULES_FILE: file };
}

/** Removes every rules file written so far. */
export function removeRulesFiles() {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

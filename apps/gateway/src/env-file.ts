import { existsSync, readFileSync } from 'node:fs';

/**
 * Reads `--config FILE` (KEY=value lines, as `init` writes) into `env`; variables already set
 * are kept. Returns what is wrong, or null.
 */
export function readConfigFile(file: string, env: Record<string, string | undefined>): string | null {
  if (!existsSync(file)) return `the config file "${file}" does not exist (dotmac-gateway init writes one)`;
  loadEnvFile(file, env);
  return null;
}

/** Reads KEY=value lines into `env`; variables already set are kept. */
function loadEnvFile(file: string, env: Record<string, string | undefined>): void {
  for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line
      .slice(0, eq)
      .trim()
      .replace(/^export\s+/, '');
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) {
      value = value.slice(1, -1);
    }
    if (env[key] === undefined) env[key] = value;
  }
}

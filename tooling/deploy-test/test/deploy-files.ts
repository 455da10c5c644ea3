import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The repository root. */
export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** A file of the repository, as text. */
export function repoFile(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

/** A service of deploy/docker-compose.yml, after YAML merge keys are applied. */
export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
}

/** deploy/docker-compose.yml, parsed (`${API_KEY:?…}` left as it is written). */
export function composeFile(): { services: Record<string, ComposeService> } {
  return parse(repoFile('deploy/docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
}

/** The compose services that run the gateway image, by name. */
export function gatewayServices(): [string, ComposeService][] {
  return Object.entries(composeFile().services).filter(
    ([, s]) => s.build?.dockerfile === 'apps/gateway/Dockerfile',
  );
}

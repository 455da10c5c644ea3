import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onCleanup } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { emptyProject, installedPackages, pack, ROOT } from './pack';

/** Every package `pnpm -r publish` would publish (non-private, under packages/ and apps/). */
function publishableDirs(): string[] {
  const out: string[] = [];
  for (const group of ['packages', 'apps'])
    for (const name of readdirSync(join(ROOT, group))) {
      const manifest = JSON.parse(readFileSync(join(ROOT, group, name, 'package.json'), 'utf8')) as {
        private?: boolean;
      };
      if (!manifest.private) out.push(`${group}/${name}`);
    }
  return out;
}

describe('every published package installed together with npm', () => {
  it(`prints no engine warning on this Node (${process.version}): each dependency accepts it`, () => {
    const project = emptyProject();
    onCleanup(project.dispose);
    const dirs = publishableDirs();
    expect(dirs).toContain('apps/gateway');
    const tarballs = dirs.map((dir) => pack(dir, project.dir));
    const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', ...tarballs], {
      cwd: project.dir,
      encoding: 'utf8',
    });
    expect(npm.status, npm.stderr).toBe(0);
    expect(`${npm.stdout}${npm.stderr}`).not.toMatch(/EBADENGINE|unsupported engine/i);
    expect(installedPackages(project.dir)).toContain('@nats-io/transport-node');
  }, 180_000);
});

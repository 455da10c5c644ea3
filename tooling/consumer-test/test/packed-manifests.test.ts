import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onCleanup } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { emptyProject, pack, ROOT } from './pack';

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** The workspace packages `pnpm -r publish` would publish: every non-private one under packages/ and apps/. */
function publishable(): { dir: string; manifest: Manifest }[] {
  const out: { dir: string; manifest: Manifest }[] = [];
  for (const group of ['packages', 'apps'])
    for (const name of readdirSync(join(ROOT, group))) {
      const dir = `${group}/${name}`;
      const manifest = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Manifest;
      if (!manifest.private) out.push({ dir, manifest });
    }
  return out;
}

// `pnpm publish --dry-run` produces the same tarball as `pnpm pack` (same shasum), so what is
// checked here is what would be published.
describe('the tarballs pnpm packs for publishing', () => {
  it('carry no workspace: or catalog: range, and internal ranges name the current versions', () => {
    const project = emptyProject();
    onCleanup(project.dispose);
    const packages = publishable();
    const versions = new Map(packages.map((p) => [p.manifest.name, p.manifest.version]));
    expect([...versions.keys()]).toContain('@dotmac-ws/core');
    for (const { dir, manifest } of packages) {
      const tarball = pack(dir, project.dir);
      const packed = JSON.parse(
        execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' }),
      ) as Manifest;
      const raw = JSON.stringify(packed);
      expect(raw, dir).not.toContain('workspace:');
      expect(raw, dir).not.toContain('catalog:');
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const)
        for (const [dep, range] of Object.entries(packed[field] ?? {})) {
          const source = manifest[field]?.[dep] ?? '';
          if (source === 'workspace:^') expect(range, `${dir} ${field} ${dep}`).toBe(`^${versions.get(dep)}`);
          if (source === 'workspace:*') expect(range, `${dir} ${field} ${dep}`).toBe(versions.get(dep));
          // A range after workspace: (the plugins' peer range on core) is published as it is.
          if (/^workspace:[<>=]/.test(source))
            expect(range, `${dir} ${field} ${dep}`).toBe(source.slice('workspace:'.length));
          if (source.startsWith('catalog:')) expect(range, `${dir} ${field} ${dep}`).toMatch(/^[\^~]?\d/);
        }
      const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
      expect(files, dir).toContain('package/package.json');
      expect(
        files.filter((f) => /^package\/(src|test)\//.test(f)),
        dir,
      ).toEqual([]);
    }
  });
});

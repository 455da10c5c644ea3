import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/work-dir';

/** The property names of `interface name` in the TypeScript file `file` (relative to the root). */
function interfaceMembers(file: string, name: string): string[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(join(REPO_ROOT, file), 'utf8'),
    ts.ScriptTarget.Latest,
  );
  const found = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  if (found === undefined) throw new Error(`${file} declares no interface ${name}`);
  return found.members.flatMap((m) =>
    ts.isPropertySignature(m) && ts.isIdentifier(m.name) ? [m.name.text] : [],
  );
}

/** The first-column names (`` `name` ``) of the table under `heading` in the Markdown file `file`. */
function tableNames(file: string, heading: string): string[] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  const at = text.indexOf(`\n${heading}\n`);
  if (at === -1) throw new Error(`${file} has no heading "${heading}"`);
  const section = text.slice(at + heading.length + 2).split(/\n#{1,6} /)[0] ?? '';
  return [...section.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1] as string);
}

describe('docs/configuration.md', () => {
  it('lists every option of GatewayOptions, and none that does not exist', () => {
    const options = interfaceMembers('packages/core/src/config.ts', 'GatewayOptions');
    const documented = tableNames('docs/configuration.md', '## Gateway options (`@dotmac-ws/core`)');
    expect(options.length).toBeGreaterThan(40);
    expect(options.filter((o) => !documented.includes(o))).toEqual([]);
    expect(documented.filter((d) => !options.includes(d))).toEqual([]);
  });
});

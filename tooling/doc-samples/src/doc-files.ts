import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DocSample, parseSamples } from './parse-samples';
import { REPO_ROOT } from './work-dir';

/** A document and its runnable samples. */
export interface DocFile {
  /** Relative to the repository root. */
  readonly file: string;
  readonly samples: readonly DocSample[];
}

/** Markdown files in `dir` (relative to the root), or in each of its subfolders' roots with `nested`. */
function markdownIn(dir: string, nested: boolean): string[] {
  const abs = join(REPO_ROOT, dir);
  if (!existsSync(abs)) return [];
  if (!nested)
    return readdirSync(abs)
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `${dir}/${f}`);
  return readdirSync(abs)
    .sort()
    .map((sub) => `${dir}/${sub}/README.md`)
    .filter((f) => existsSync(join(REPO_ROOT, f)));
}

/**
 * The documents whose samples are run: README.md, docs/*.md, and the README of every package,
 * app and example.
 */
export function documentFiles(): string[] {
  return [
    'README.md',
    ...markdownIn('docs', false),
    ...markdownIn('packages', true),
    ...markdownIn('apps', true),
    ...markdownIn('examples', true),
  ];
}

/** Every document of {@link documentFiles} with its runnable samples (documents without any too). */
export function readDocuments(): DocFile[] {
  return documentFiles().map((file) => ({
    file,
    samples: parseSamples(file, readFileSync(join(REPO_ROOT, file), 'utf8')),
  }));
}

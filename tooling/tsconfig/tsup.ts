import type { Options } from 'tsup';

/**
 * The build every published package shares: ESM + CJS with their own declaration files,
 * so that `import` and `require` each get matching types.
 */
export function packageBuild(entry: Record<string, string>, overrides: Options = {}): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: false,
    treeshake: true,
    ...overrides,
  };
}

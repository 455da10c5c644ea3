import { defineConfig } from 'tsup';
import { packageBuild } from '../../tooling/tsconfig/tsup';

export default defineConfig([
  packageBuild({ index: 'src/index.ts' }, { clean: false }),
  // The bin and the worker-thread entry: ESM only; the bin with a shebang.
  packageBuild(
    { cli: 'src/cli.ts', 'shard-worker': 'src/shard-worker.ts' },
    { format: ['esm'], dts: false, clean: false, banner: { js: '#!/usr/bin/env node' } },
  ),
]);

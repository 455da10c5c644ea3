import { defineConfig } from 'tsup';
import { packageBuild } from '../../tooling/tsconfig/tsup';

export default defineConfig([
  packageBuild({ index: 'src/index.ts' }, { clean: false, shims: true }),
  // The bin: ESM only, with a shebang, so `node dist/main.js` and `dotmac-gateway` both run it.
  packageBuild(
    { main: 'src/main.ts' },
    { format: ['esm'], dts: false, clean: false, banner: { js: '#!/usr/bin/env node' } },
  ),
]);

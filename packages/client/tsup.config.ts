import { defineConfig } from 'tsup';
import { packageBuild } from '../../tooling/tsconfig/tsup';

// Browsers load the ESM build as it is: target the language level, not a Node version.
export default defineConfig(
  packageBuild({ index: 'src/index.ts' }, { target: 'es2022', platform: 'neutral' }),
);

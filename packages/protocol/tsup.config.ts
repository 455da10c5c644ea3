import { defineConfig } from 'tsup';
import { packageBuild } from '../../tooling/tsconfig/tsup';

// Used by the server and by browsers: target the language level, not a Node version.
export default defineConfig(
  packageBuild({ index: 'src/index.ts' }, { target: 'es2022', platform: 'neutral' }),
);

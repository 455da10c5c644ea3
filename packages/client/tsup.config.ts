import { defineConfig } from 'tsup';
import { packageBuild } from '../../tooling/tsconfig/tsup';

// Browsers load the ESM build as it is: target the language level, not a Node version, and
// inline the few constants of @dotmac-ws/protocol so that dist/index.js imports nothing (its
// declaration files still import the protocol's types from the package).
export default defineConfig(
  packageBuild(
    { index: 'src/index.ts' },
    { target: 'es2022', platform: 'neutral', noExternal: ['@dotmac-ws/protocol'] },
  ),
);

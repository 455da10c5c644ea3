import { defineConfig } from 'tsup';
import { packageBuild } from '../../tooling/tsconfig/tsup';

export default defineConfig(packageBuild({ index: 'src/index.ts' }));

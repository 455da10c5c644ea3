// Rewrites the generated environment reference in docs/configuration.md from the built app.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withConfigurationReference } from '../dist/index.js';

const file = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
writeFileSync(file, withConfigurationReference(readFileSync(file, 'utf8')));
console.log(`updated ${file}`);

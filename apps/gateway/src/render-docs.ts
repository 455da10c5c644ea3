import { type EnvKind, envSchema } from './env-schema';
import { PLUGINS } from './plugins';

const GROUPS = {
  server: 'Server',
  protocol: 'Protocol and limits',
  auth: 'Authentication',
  backend: 'Scaling backend',
  ratelimit: 'Rate limits',
  'app-backend': 'Application backend (proxy and webhooks)',
  http: 'HTTP API and metrics',
  observability: 'Observability',
  operations: 'Operations',
} as const;

function accepted(k: EnvKind): string {
  switch (k.type) {
    case 'int':
      return `integer ${k.min}-${k.max}`;
    case 'bool':
      return 'true / false';
    case 'enum':
      return k.values.map((v) => `\`${v}\``).join(', ');
    case 'list':
      return 'comma-separated list';
    default:
      return k.hint ?? 'text';
  }
}

function shown(value: string | undefined): string {
  return value === undefined ? '(unset)' : `\`${value}\``;
}

/** The environment reference of docs/configuration.md, generated from {@link envSchema}. */
export function renderConfigurationDoc(): string {
  let out =
    '<!-- Generated from apps/gateway/src/env-schema.ts by `pnpm --filter @dotmac-ws/gateway gen:docs`; do not edit by hand. -->\n';
  for (const [group, title] of Object.entries(GROUPS)) {
    const vars = envSchema(PLUGINS).filter((v) => v.group === group);
    if (vars.length === 0) continue;
    out += `\n### ${title}\n\n| variable | default | accepts | meaning |\n|---|---|---|---|\n`;
    for (const v of vars) {
      // A default of the production profile that differs is shown beside the development one.
      const production =
        v.production === undefined
          ? ''
          : ` (production: ${v.production === null ? 'unset' : shown(v.production)})`;
      out += `| \`${v.name}\` | ${shown(v.default)}${production} | ${accepted(v.kind)} | ${v.description} |\n`;
    }
  }
  return out;
}

/** The markers between which docs/configuration.md holds the generated reference. */
export const DOC_MARKERS = { start: '<!-- env:start -->', end: '<!-- env:end -->' } as const;

/** `doc` with the text between the markers replaced by the current reference. */
export function withConfigurationReference(doc: string): string {
  const a = doc.indexOf(DOC_MARKERS.start);
  const b = doc.indexOf(DOC_MARKERS.end);
  if (a < 0 || b < a)
    throw new Error(`the document lacks the markers ${DOC_MARKERS.start} and ${DOC_MARKERS.end}`);
  return `${doc.slice(0, a + DOC_MARKERS.start.length)}\n${renderConfigurationDoc()}\n${doc.slice(b)}`;
}

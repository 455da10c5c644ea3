import { ENV_SCHEMA, type EnvKind } from './env-schema';

const GROUPS = {
  server: 'Server',
  protocol: 'Protocol and limits',
  auth: 'Authentication',
  backend: 'Scaling backend',
  http: 'HTTP API and metrics',
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

/** The environment reference of docs/configuration.md, generated from {@link ENV_SCHEMA}. */
export function renderConfigurationDoc(): string {
  let out =
    '<!-- Generated from apps/gateway/src/env-schema.ts by `pnpm --filter @dotmac-ws/gateway docs`; do not edit by hand. -->\n';
  for (const [group, title] of Object.entries(GROUPS)) {
    const vars = ENV_SCHEMA.filter((v) => v.group === group);
    if (vars.length === 0) continue;
    out += `\n### ${title}\n\n| variable | default | accepts | meaning |\n|---|---|---|---|\n`;
    for (const v of vars) {
      out += `| \`${v.name}\` | ${v.default === undefined ? '(unset)' : `\`${v.default}\``} | ${accepted(v.kind)} | ${v.description} |\n`;
    }
  }
  return out;
}

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { runApiCommand } from './api-command';
import { readConfigFile } from './env-file';
import { type EnvKind, type EnvVar, envSchema } from './env-schema';
import { PLUGINS } from './plugins';
import { runGateway } from './run';

/** Where the CLI writes and what it exits with; tests pass their own. @internal */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
}

const USAGE = `Usage: dotmac-gateway [command] [options]

Commands:
  (none)                     start the gateway, configured by environment variables
  init [development|production] [--out FILE] [--force]
                             write a commented .env file (default ./.env) with a generated
                             API key and JWT secret; development is the default profile
  api <call> [json] [--url URL]
                             call the server API of a running gateway with API_KEY and print
                             the answer, e.g. api info, api disconnect '{"user_id":"u1"}'
                             (dotmac-gateway api --help lists the calls)
  help, --help, -h           this text and every environment variable
  version, --version, -v     the version

Options:
  --config FILE              read variables from FILE (KEY=value lines, as init writes)
                             before starting; variables set in the environment win

Every setting is an environment variable (docs/configuration.md has the full reference):
`;

function accepts(k: EnvKind): string {
  switch (k.type) {
    case 'int':
      return `${k.min}-${k.max}`;
    case 'bool':
      return 'true|false';
    case 'enum':
      return k.values.join('|');
    case 'list':
      return 'a,b,...';
    default:
      return k.hint ?? 'text';
  }
}

/** The `--help` text: the commands, then each variable with its default and meaning. */
export function helpText(): string {
  const vars = envSchema(PLUGINS);
  const width = Math.max(...vars.map((v) => v.name.length));
  const lines = vars.map(
    (v) =>
      `  ${v.name.padEnd(width)}  ${v.default === undefined ? '(unset)' : v.default}  [${accepts(v.kind)}]\n` +
      `  ${' '.repeat(width)}  ${plain(v.description)}`,
  );
  return `${USAGE}\n${lines.join('\n')}\n`;
}

/** Markdown to terminal text: backticks dropped. */
function plain(text: string): string {
  return text.replaceAll('`', '');
}

/** A secret of `bytes` random bytes, base64url (no padding), safe in a .env line. */
function secret(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/** Variables `init` sets rather than leaving commented out, per profile. */
function initValues(profile: 'development' | 'production'): Map<string, string> {
  return new Map([
    ['GATEWAY_PROFILE', profile],
    ['API_KEY', secret(24)],
    ['JWT_SECRET_KEY', secret(32)],
  ]);
}

/**
 * The text of a commented `.env` for `profile`: a header, the variables `init` sets (a fresh
 * API key and JWT secret), then every other variable commented out at its default, each with
 * its meaning. Lines are `KEY=value`, which `--config`, Docker's `env_file` and
 * `node --env-file` all read.
 */
export function envFileText(
  profile: 'development' | 'production',
  vars: readonly EnvVar[],
  file = '.env',
): string {
  const set = initValues(profile);
  const out = [
    `# dotmac-gateway configuration (${profile} profile), written by \`dotmac-gateway init\`.`,
    `# Start with: dotmac-gateway --config ${file}`,
    '# API_KEY guards the HTTP API (Authorization: Bearer <API_KEY>); JWT_SECRET_KEY verifies',
    '# HS256 client tokens. Both were generated for this file: keep it out of version control.',
    '',
  ];
  for (const [name, value] of set) out.push(`${name}=${value}`);
  let group = '';
  for (const v of vars) {
    if (set.has(v.name)) continue;
    if (v.group !== group) {
      group = v.group;
      out.push('', `# --- ${group}`);
    }
    out.push(`# ${plain(v.description)} [${accepts(v.kind)}]`);
    out.push(`# ${v.name}=${v.default ?? ''}`);
  }
  return `${out.join('\n')}\n`;
}

function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * Runs the `dotmac-gateway` command line. Resolves with the exit code for the commands that
 * end by themselves; starting the gateway resolves only when it has started (it exits on
 * SIGTERM/SIGINT itself).
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
  },
): Promise<number | 'running'> {
  const args = [...argv];
  const command = args[0] !== undefined && !args[0].startsWith('--config') ? args.shift() : undefined;
  switch (command) {
    case undefined:
      return start(args, io);
    case 'help':
    case '--help':
    case '-h':
      io.out(helpText());
      return 0;
    case 'version':
    case '--version':
    case '-v':
      io.out(`${readVersion()}\n`);
      return 0;
    case 'init':
      return init(args, io);
    case 'api':
      return runApiCommand(args, io);
    default:
      io.err(`dotmac-gateway: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function start(args: string[], io: CliIo): Promise<number | 'running'> {
  while (args.length > 0) {
    const arg = args.shift() as string;
    const file = arg === '--config' ? args.shift() : arg.startsWith('--config=') ? arg.slice(9) : null;
    if (file === null || file === undefined || file === '') {
      io.err(`dotmac-gateway: unexpected argument "${arg}" (see dotmac-gateway --help)\n`);
      return 2;
    }
    const problem = readConfigFile(file, io.env);
    if (problem !== null) {
      io.err(`dotmac-gateway: ${problem}\n`);
      return 2;
    }
  }
  await runGateway(io.env);
  return 'running';
}

function init(args: string[], io: CliIo): number {
  let profile: 'development' | 'production' = 'development';
  let out = '.env';
  let force = false;
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === 'development' || arg === 'production') profile = arg;
    else if (arg === '--force') force = true;
    else if (arg === '--out' && args[0] !== undefined) out = args.shift() as string;
    else if (arg.startsWith('--out=')) out = arg.slice(6);
    else {
      io.err(`dotmac-gateway init: unexpected argument "${arg}" (see dotmac-gateway --help)\n`);
      return 2;
    }
  }
  if (existsSync(out) && !force) {
    io.err(`dotmac-gateway init: ${out} exists; pass --force to overwrite it\n`);
    return 1;
  }
  writeFileSync(out, envFileText(profile, envSchema(PLUGINS), out), { mode: 0o600 });
  io.out(`wrote ${out} (${profile} profile). Start with: dotmac-gateway --config ${out}\n`);
  return 0;
}

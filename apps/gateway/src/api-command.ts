import { ConfigError } from '@dotmac-ws/core';
import { apiKeysFromEnv } from './api-keys-env';
import { readEnvConfig } from './env-config';
import { readConfigFile } from './env-file';

/** Where the command writes, and the environment it reads. */
export interface ApiCommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
}

/** A call of the server API the command can make. */
interface ApiCall {
  method: 'GET' | 'POST';
  path: string;
  /** What it does, and an example body. */
  help: string;
}

/** The calls `dotmac-gateway api` knows, by name (docs/server-api.md has every answer). */
export const API_CALLS: Readonly<Record<string, ApiCall>> = {
  publish: { method: 'POST', path: '/api/publish', help: `'{"channel":"news","type":"m","data":1}'` },
  broadcast: {
    method: 'POST',
    path: '/api/broadcast',
    help: `'{"channels":["a","b"],"type":"m","data":1}'`,
  },
  subscribe: { method: 'POST', path: '/api/subscribe', help: `'{"user_id":"u1","channel":"alerts"}'` },
  unsubscribe: { method: 'POST', path: '/api/unsubscribe', help: `'{"user_id":"u1","channel":"alerts"}'` },
  disconnect: {
    method: 'POST',
    path: '/api/disconnect',
    help: `'{"user_id":"u1"}' (code 4403 unless "code")`,
  },
  history: { method: 'POST', path: '/api/history', help: `'{"channel":"news","limit":10}'` },
  history_remove: { method: 'POST', path: '/api/history_remove', help: `'{"channel":"news"}'` },
  presence: { method: 'POST', path: '/api/presence', help: `'{"channel":"chat:lobby"}'` },
  presence_stats: { method: 'POST', path: '/api/presence_stats', help: `'{"channel":"chat:lobby"}'` },
  channels: { method: 'POST', path: '/api/channels', help: `['{"pattern":"chat:*"}'] (default {})` },
  info: { method: 'GET', path: '/api/info', help: 'the live nodes' },
  stats: { method: 'GET', path: '/api/stats', help: "this node's figures" },
  health: { method: 'GET', path: '/health', help: 'health with details' },
};

/** How long a call may take before the command gives up. */
const CALL_TIMEOUT_MS = 10_000;

/** The text of `dotmac-gateway api --help`. */
export function apiHelpText(): string {
  const width = Math.max(...Object.keys(API_CALLS).map((c) => c.length));
  const calls = Object.entries(API_CALLS).map(
    ([name, c]) =>
      `  ${name.padEnd(width)}  ${c.method.padEnd(4)} ${c.path.padEnd(20)} ${c.method === 'POST' ? `json: ${c.help}` : c.help}`,
  );
  return `Usage: dotmac-gateway api <call> [json] [--url URL] [--config FILE]

Calls the server API of a running gateway with API_KEY (or the first admin key of API_KEYS),
from the environment or --config FILE, and prints the JSON answer. Exits 0 on a 2xx answer,
1 on any other answer or when the gateway cannot be reached, 2 on a usage error.

Options:
  --url URL          the gateway (default http://WS_HOST:WS_PORT, i.e. http://127.0.0.1:8765)
  --config FILE      read variables from FILE (KEY=value lines); the environment wins

Calls:
${calls.join('\n')}
`;
}

/**
 * Runs `dotmac-gateway api <call> [json]`: one call of the server API. Resolves with the exit
 * code: 0 for a 2xx answer, 1 for another answer or an unreachable gateway, 2 for a usage error.
 */
export async function runApiCommand(argv: readonly string[], io: ApiCommandIo): Promise<number> {
  const usage = (problem: string) => {
    io.err(`dotmac-gateway api: ${problem} (see dotmac-gateway api --help)\n`);
    return 2;
  };
  const args = [...argv];
  const positional: string[] = [];
  let url: string | undefined;
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '--help' || arg === '-h') {
      io.out(apiHelpText());
      return 0;
    }
    const option = /^--(url|config)(?:=(.*))?$/s.exec(arg);
    if (option === null) {
      positional.push(arg);
      continue;
    }
    const value = option[2] ?? args.shift();
    if (value === undefined || value === '') return usage(`--${option[1]} needs a value`);
    if (option[1] === 'url') url = value;
    else {
      const problem = readConfigFile(value, io.env);
      if (problem !== null) return usage(problem);
    }
  }
  const [name, body, ...extra] = positional;
  if (name === undefined) return usage('name a call');
  const call = Object.hasOwn(API_CALLS, name) ? API_CALLS[name] : undefined;
  if (call === undefined) return usage(`unknown call "${name}"; calls: ${Object.keys(API_CALLS).join(', ')}`);
  if (extra.length > 0) return usage(`unexpected argument "${extra[0]}"`);
  if (body !== undefined && call.method === 'GET') return usage(`${name} takes no json`);
  if (body !== undefined) {
    try {
      JSON.parse(body);
    } catch {
      return usage(`the json of ${name} is not valid JSON: ${body}`);
    }
  }
  let target: { base: string; key: string | undefined };
  try {
    target = gatewayOf(io.env, url);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return usage(error.message);
  }
  if (target.key === undefined)
    return usage('set API_KEY (or API_KEYS), in the environment or with --config');
  const endpoint = `${target.base}${call.path}`;
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: call.method,
      headers: { authorization: `Bearer ${target.key}`, 'content-type': 'application/json' },
      ...(call.method === 'POST' ? { body: body ?? '{}' } : {}),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    io.err(`dotmac-gateway api: could not reach ${endpoint}: ${cause}\n`);
    return 1;
  }
  const text = await res.text();
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON (a proxy's page): shown as it came.
  }
  io.out(`${shown}\n`);
  if (!res.ok) io.err(`dotmac-gateway api: ${call.method} ${call.path} answered ${res.status}\n`);
  return res.ok ? 0 : 1;
}

/**
 * The gateway to call and the key to call it with: `--url`, else `http://WS_HOST:WS_PORT` (a
 * wildcard host as loopback); `API_KEY`, else the first admin entry of `API_KEYS`.
 */
function gatewayOf(
  env: Record<string, string | undefined>,
  url: string | undefined,
): { base: string; key: string | undefined } {
  const cfg = readEnvConfig(env);
  const keys = apiKeysFromEnv(cfg.string('API_KEYS')).keys;
  const key =
    cfg.string('API_KEY') ?? keys.find((k) => (k.scope ?? 'admin') === 'admin')?.key ?? keys[0]?.key;
  if (url !== undefined) return { base: url.replace(/\/+$/, ''), key };
  const configured = cfg.string('WS_HOST');
  const host =
    configured === undefined || configured === '0.0.0.0' || configured === '::' ? '127.0.0.1' : configured;
  return { base: `http://${host.includes(':') ? `[${host}]` : host}:${cfg.int('WS_PORT')}`, key };
}

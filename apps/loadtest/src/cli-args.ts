import { parseArgs } from 'node:util';
import { LoadtestOptionsError } from './loadtest-error';
import { DEFAULTS, DIALECTS, type LoadOptions, SCENARIOS, TOKEN_TRANSPORTS } from './options';

type Kind = 'string' | 'int' | 'number' | 'list' | 'json' | 'flag';

interface Flag {
  name: string;
  /** The {@link LoadOptions} field it sets, or a CLI-only setting. */
  key: keyof LoadOptions | 'json' | 'html' | 'quiet' | 'help' | 'version';
  kind: Kind;
  value?: string;
  help: string;
  group: string;
}

const d = (v: unknown) => ` (default ${Array.isArray(v) ? v.join(',') : String(v)})`;

/** Every flag of the CLI, in the order `--help` lists them. */
export const FLAGS: readonly Flag[] = [
  {
    group: 'Target',
    name: 'url',
    key: 'urls',
    kind: 'list',
    value: 'URL',
    help: `gateway URL; repeat or comma-separate for several${d(DEFAULTS.urls)}`,
  },
  {
    group: 'Target',
    name: 'publish-url',
    key: 'publishUrls',
    kind: 'list',
    value: 'URL',
    help: 'URL(s) publishers connect to (default: the last --url for multi-node and recovery, else --url)',
  },
  {
    group: 'Target',
    name: 'dialect',
    key: 'dialect',
    kind: 'string',
    value: DIALECTS.join('|'),
    help: `wire dialect; socket.io speaks Socket.IO v4 to a peer server${d(DEFAULTS.dialect)}`,
  },
  {
    group: 'Load',
    name: 'scenario',
    key: 'scenario',
    kind: 'string',
    value: SCENARIOS.join('|'),
    help: `load shape (also the first argument)${d(DEFAULTS.scenario)}`,
  },
  {
    group: 'Load',
    name: 'connections',
    key: 'connections',
    kind: 'int',
    value: 'N',
    help: `subscribers (fanout, churn, multi-node), clients (echo) or connections (connect)${d(DEFAULTS.connections)}`,
  },
  {
    group: 'Load',
    name: 'channels',
    key: 'channels',
    kind: 'int',
    value: 'N',
    help: `channels; subscriber i joins channel i mod N${d(DEFAULTS.channels)}`,
  },
  {
    group: 'Load',
    name: 'publishers',
    key: 'publishers',
    kind: 'int',
    value: 'N',
    help: `publishing connections${d(DEFAULTS.publishers)}`,
  },
  {
    group: 'Load',
    name: 'rate',
    key: 'rate',
    kind: 'number',
    value: 'R',
    help: `messages/s over all publishers (echo: requests/s); 0 = as fast as subscribers keep up (echo: one in flight per client)${d(DEFAULTS.rate)}`,
  },
  {
    group: 'Load',
    name: 'payload-bytes',
    key: 'payloadBytes',
    kind: 'int',
    value: 'B',
    help: `size of each message's data, at least 48${d(DEFAULTS.payloadBytes)}`,
  },
  {
    group: 'Load',
    name: 'duration',
    key: 'durationSec',
    kind: 'number',
    value: 'S',
    help: `seconds of the measured phase${d(DEFAULTS.durationSec)}`,
  },
  {
    group: 'Load',
    name: 'window',
    key: 'window',
    kind: 'int',
    value: 'N',
    help: `rate 0: deliveries in flight per subscriber before publishers wait${d(DEFAULTS.window)}`,
  },
  {
    group: 'Load',
    name: 'echo-type',
    key: 'echoType',
    kind: 'string',
    value: 'TYPE',
    help: `echo: request type; ping gets pong, others an ack${d(DEFAULTS.echoType)}`,
  },
  {
    group: 'Load',
    name: 'churn-connections',
    key: 'churnConnections',
    kind: 'int',
    value: 'N',
    help: `churn: connections that keep closing and reopening${d(DEFAULTS.churnConnections)}`,
  },
  {
    group: 'Load',
    name: 'churn-lifetime-ms',
    key: 'churnLifetimeMs',
    kind: 'int',
    value: 'MS',
    help: `churn: mean life of a churning connection${d(DEFAULTS.churnLifetimeMs)}`,
  },
  {
    group: 'Connections',
    name: 'connect-rate',
    key: 'connectRate',
    kind: 'number',
    value: 'R',
    help: `new connections/s; 0 = as fast as --connect-concurrency allows${d(DEFAULTS.connectRate)}`,
  },
  {
    group: 'Connections',
    name: 'connect-concurrency',
    key: 'connectConcurrency',
    kind: 'int',
    value: 'N',
    help: `handshakes in flight at once${d(DEFAULTS.connectConcurrency)}`,
  },
  {
    group: 'Connections',
    name: 'connect-timeout-ms',
    key: 'connectTimeoutMs',
    kind: 'int',
    value: 'MS',
    help: `time allowed to reach welcome${d(DEFAULTS.connectTimeoutMs)}`,
  },
  {
    group: 'Connections',
    name: 'hold-ms',
    key: 'holdMs',
    kind: 'int',
    value: 'MS',
    help: `connect: hold the connections open this long after the storm${d(DEFAULTS.holdMs)}`,
  },
  {
    group: 'Connections',
    name: 'drain-ms',
    key: 'drainMs',
    kind: 'int',
    value: 'MS',
    help: `after the measured phase, wait this long for messages in flight${d(DEFAULTS.drainMs)}`,
  },
  {
    group: 'Connections',
    name: 'source-addresses',
    key: 'sourceAddresses',
    kind: 'string',
    value: 'N|auto',
    help: `spread connections over 127.0.0.1..127.0.0.N (loopback targets); auto = one per 20,000${d(DEFAULTS.sourceAddresses)}`,
  },
  {
    group: 'Connections',
    name: 'workers',
    key: 'workers',
    kind: 'int',
    value: 'N',
    help: `worker threads holding the connections; 0 = this thread${d(DEFAULTS.workers)}`,
  },
  {
    group: 'Disruption (recovery)',
    name: 'kill-pid',
    key: 'killPids',
    kind: 'list',
    value: 'PID',
    help: 'send SIGKILL to these processes (gateway nodes) at --disrupt-at-sec',
  },
  {
    group: 'Disruption (recovery)',
    name: 'drop-connections',
    key: 'dropConnections',
    kind: 'number',
    value: 'FRACTION',
    help: `drop this fraction (0-1) of the subscriber sockets at --disrupt-at-sec, like a network blip${d(DEFAULTS.dropConnections)}`,
  },
  {
    group: 'Disruption (recovery)',
    name: 'disrupt-at-sec',
    key: 'disruptAtSec',
    kind: 'number',
    value: 'S',
    help: 'seconds into the measured phase when the disruption happens (default: half of --duration)',
  },
  {
    group: 'Disruption (recovery)',
    name: 'reconnect-delay-ms',
    key: 'reconnectDelayMs',
    kind: 'int',
    value: 'MS',
    help: `a subscriber waits a random time up to this before reconnecting; doubles per failed attempt${d(DEFAULTS.reconnectDelayMs)}`,
  },
  {
    group: 'Disruption (recovery)',
    name: 'reconnect-max-delay-ms',
    key: 'reconnectMaxDelayMs',
    kind: 'int',
    value: 'MS',
    help: `the most that reconnection wait grows to${d(DEFAULTS.reconnectMaxDelayMs)}`,
  },
  {
    group: 'Disruption (recovery)',
    name: 'recovery-timeout-ms',
    key: 'recoveryTimeoutMs',
    kind: 'int',
    value: 'MS',
    help: `a subscriber not recovered this long after its loss (or after 50 attempts) gives up${d(DEFAULTS.recoveryTimeoutMs)}`,
  },
  {
    group: 'Auth',
    name: 'token',
    key: 'token',
    kind: 'string',
    value: 'JWT',
    help: 'a token every connection presents',
  },
  {
    group: 'Auth',
    name: 'jwt-secret',
    key: 'jwtSecret',
    kind: 'string',
    value: 'SECRET',
    help: 'sign one token per connection (sub loadtest-<n>) with this HS* secret',
  },
  {
    group: 'Auth',
    name: 'jwt-claims',
    key: 'jwtClaims',
    kind: 'json',
    value: 'JSON',
    help: 'claims added to signed tokens, e.g. \'{"tenant_id":"acme"}\'',
  },
  {
    group: 'Auth',
    name: 'jwt-algorithm',
    key: 'jwtAlgorithm',
    kind: 'string',
    value: 'HS256|HS384|HS512',
    help: `algorithm of signed tokens${d(DEFAULTS.jwtAlgorithm)}`,
  },
  {
    group: 'Auth',
    name: 'jwt-expires-in',
    key: 'jwtExpiresInSec',
    kind: 'int',
    value: 'S',
    help: `life of signed tokens in seconds${d(DEFAULTS.jwtExpiresInSec)}`,
  },
  {
    group: 'Auth',
    name: 'token-via',
    key: 'tokenVia',
    kind: 'string',
    value: TOKEN_TRANSPORTS.join('|'),
    help: `where the token travels${d(DEFAULTS.tokenVia)}`,
  },
  {
    group: 'Measure',
    name: 'server-pid',
    key: 'serverPids',
    kind: 'list',
    value: 'PID',
    help: 'local server process(es) whose CPU time per delivery and RSS to report (Linux /proc)',
  },
  {
    group: 'SLO (exit code 1 when missed)',
    name: 'max-p50-ms',
    key: 'maxP50Ms',
    kind: 'number',
    value: 'MS',
    help: 'largest acceptable p50 latency',
  },
  {
    group: 'SLO (exit code 1 when missed)',
    name: 'max-p99-ms',
    key: 'maxP99Ms',
    kind: 'number',
    value: 'MS',
    help: 'largest acceptable p99 latency',
  },
  {
    group: 'SLO (exit code 1 when missed)',
    name: 'max-p999-ms',
    key: 'maxP999Ms',
    kind: 'number',
    value: 'MS',
    help: 'largest acceptable p99.9 latency',
  },
  {
    group: 'SLO (exit code 1 when missed)',
    name: 'max-loss',
    key: 'maxLoss',
    kind: 'string',
    value: 'N|P%',
    help: 'lost messages allowed: a count, or a percentage of those expected',
  },
  {
    group: 'SLO (exit code 1 when missed)',
    name: 'max-duplicates',
    key: 'maxDuplicates',
    kind: 'int',
    value: 'N',
    help: 'duplicated messages allowed',
  },
  {
    group: 'SLO (exit code 1 when missed)',
    name: 'max-out-of-order',
    key: 'maxOutOfOrder',
    kind: 'int',
    value: 'N',
    help: 'out-of-order messages allowed',
  },
  {
    group: 'SLO (exit code 1 when missed)',
    name: 'max-errors',
    key: 'maxErrors',
    kind: 'int',
    value: 'N',
    help: 'failed connections, error frames and unexpected closes allowed',
  },
  {
    group: 'SLO (exit code 1 when missed)',
    name: 'min-throughput',
    key: 'minThroughput',
    kind: 'number',
    value: 'R',
    help: 'smallest acceptable deliveries/s (echo: replies/s; connect: connections/s)',
  },
  {
    group: 'SLO (exit code 1 when missed)',
    name: 'max-recovery-ms',
    key: 'maxRecoveryMs',
    kind: 'number',
    value: 'MS',
    help: 'recovery: longest acceptable time from the disruption until every affected subscriber recovered',
  },
  {
    group: 'Output',
    name: 'json',
    key: 'json',
    kind: 'flag',
    help: 'print the result as JSON on stdout instead of the table',
  },
  {
    group: 'Output',
    name: 'html',
    key: 'html',
    kind: 'string',
    value: 'FILE',
    help: 'write a self-contained HTML report with charts',
  },
  { group: 'Output', name: 'quiet', key: 'quiet', kind: 'flag', help: 'no live progress line' },
  { group: 'Output', name: 'help', key: 'help', kind: 'flag', help: 'show this help' },
  { group: 'Output', name: 'version', key: 'version', kind: 'flag', help: 'show the version' },
];

/** What the command line asks for. */
export interface CliRequest {
  options: LoadOptions;
  json: boolean;
  html: string | null;
  quiet: boolean;
  help: boolean;
  version: boolean;
}

/** Reads `argv` (without node and the script); throws {@link LoadtestOptionsError} listing every problem. */
export function parseCliArgs(argv: readonly string[]): CliRequest {
  const spec: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const f of FLAGS) {
    spec[f.name] = f.kind === 'flag' ? { type: 'boolean' } : { type: 'string', multiple: f.kind === 'list' };
  }
  spec.help!.short = 'h';
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: spec, allowPositionals: true, strict: true });
  } catch (error) {
    throw new LoadtestOptionsError([(error as Error).message]);
  }
  const problems: string[] = [];
  const options: Record<string, unknown> = {};
  const request: CliRequest = {
    options: options as LoadOptions,
    json: false,
    html: null,
    quiet: false,
    help: false,
    version: false,
  };
  if (parsed.positionals.length > 1)
    problems.push(`unexpected arguments: ${parsed.positionals.slice(1).join(' ')}`);
  if (parsed.positionals[0] !== undefined) options.scenario = parsed.positionals[0];
  for (const f of FLAGS) {
    const raw = parsed.values[f.name];
    if (raw === undefined) continue;
    if (f.kind === 'flag') {
      (request as unknown as Record<string, unknown>)[f.key] = raw === true;
      continue;
    }
    if (f.key === 'html') {
      request.html = String(raw);
      continue;
    }
    const text = String(raw);
    switch (f.kind) {
      case 'list': {
        const items = (raw as string[])
          .flatMap((s) => s.split(','))
          .map((s) => s.trim())
          .filter((s) => s !== '');
        options[f.key] = f.key === 'serverPids' || f.key === 'killPids' ? items.map(toNumber) : items;
        break;
      }
      case 'int':
      case 'number': {
        const v = toNumber(text);
        if (Number.isNaN(v)) problems.push(`--${f.name} is '${text}' when it must be a number`);
        else options[f.key] = v;
        break;
      }
      case 'json':
        try {
          options[f.key] = JSON.parse(text);
        } catch {
          problems.push(`--${f.name} is not JSON: ${text}`);
        }
        break;
      default:
        options[f.key] = f.key === 'sourceAddresses' && text !== 'auto' ? toNumber(text) : text;
    }
  }
  if (problems.length > 0) throw new LoadtestOptionsError(problems);
  return request;
}

function toNumber(text: string): number {
  return /^-?\d+(\.\d+)?(e\d+)?$/i.test(text.trim()) ? Number(text) : Number.NaN;
}

/** The `--help` text: usage, the scenarios, then every flag by group. */
export function helpText(version: string): string {
  const lines = [
    `dotmac-loadtest ${version}: load runner for the dotmac-ws gateway`,
    '',
    'Usage: dotmac-loadtest [scenario] [options]',
    '',
    'Scenarios:',
    '  fanout      N subscribers over C channels; publishers at --rate, or as fast as they keep up (--rate 0)',
    '  echo        request/reply round trips (ping/pong, or --echo-type handled by the server)',
    '  connect     connection storm: rate and time to welcome, optionally with signed JWTs',
    '  churn       steady subscribers plus connections opening and closing while messages flow',
    '  multi-node  subscribers spread over several --url, publishers on --publish-url',
    '  recovery    multi-node on channels with history; at --disrupt-at-sec a node is killed (--kill-pid)',
    '              or sockets dropped (--drop-connections); subscribers reconnect and recover with since',
    '',
    'Every message carries a send time and a sequence number: latency goes to an HDR histogram,',
    'and lost, duplicated and out-of-order messages are counted.',
  ];
  let group = '';
  for (const f of FLAGS) {
    if (f.group !== group) {
      group = f.group;
      lines.push('', `${group}:`);
    }
    const left = `  --${f.name}${f.value ? ` ${f.value}` : ''}`;
    lines.push(left.length < 34 ? `${left.padEnd(34)}${f.help}` : `${left}\n${' '.repeat(34)}${f.help}`);
  }
  lines.push(
    '',
    'Exit codes: 0 the run passed its SLOs, 1 an SLO was missed, 2 bad options, 3 the run could not take place.',
    '',
    'Example:',
    '  dotmac-loadtest fanout --url ws://127.0.0.1:8765/ws --connections 2000 --rate 0 --duration 10 \\',
    '    --max-p99-ms 50 --max-loss 0 --html report.html',
  );
  return lines.join('\n');
}

/** The profiles of the reference gateway: which defaults apply. */
export const GATEWAY_PROFILES = ['development', 'production'] as const;

/** A profile of {@link GATEWAY_PROFILES}. */
export type GatewayProfile = (typeof GATEWAY_PROFILES)[number];

/** How an environment variable is read. */
export type EnvKind =
  | { type: 'int'; min: number; max: number }
  | { type: 'bool' }
  | { type: 'string'; pattern?: RegExp; hint?: string }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'list' };

/** One environment variable of the reference gateway. */
export interface EnvVar {
  /** The variable's name. */
  name: string;
  /** How it is read and checked. */
  kind: EnvKind;
  /**
   * The value used when it is unset, as text; undefined for none. With {@link production}, the
   * development profile's.
   */
  default: string | undefined;
  /**
   * The value used when it is unset in the production profile, where it differs from
   * {@link default} (null: none).
   */
  production?: string | null;
  /** One sentence for docs/configuration.md. */
  description: string;
  /** Where it belongs, for grouping in the docs. */
  group:
    | 'server'
    | 'protocol'
    | 'backend'
    | 'auth'
    | 'ratelimit'
    | 'app-backend'
    | 'http'
    | 'observability'
    | 'operations';
}

/**
 * The variables the reference gateway reads itself; each plugin adds its own (`plugin.env`).
 * docs/configuration.md is generated from {@link envSchema} (`pnpm --filter @dotmac-ws/gateway docs`),
 * and a test fails when they differ.
 */
export const CORE_ENV: readonly EnvVar[] = [
  {
    name: 'GATEWAY_PROFILE',
    group: 'server',
    kind: { type: 'enum', values: GATEWAY_PROFILES },
    default: 'development',
    production: 'production',
    description:
      'Which defaults apply: `development` (no auth needed, clients publish, `/demo`, loopback only) or `production` (a JWT key or AUTH_DISABLED=true required; the defaults marked production); unset: `production` when `NODE_ENV=production`, else `development`.',
  },
  {
    name: 'WS_HOST',
    group: 'server',
    kind: { type: 'string' },
    default: '127.0.0.1',
    production: null,
    description: 'Interface to listen on; unset in production listens on all interfaces.',
  },
  {
    name: 'WS_PORT',
    group: 'server',
    kind: { type: 'int', min: 0, max: 65535 },
    default: '8765',
    description: 'Port to listen on (0 picks a free port).',
  },
  {
    name: 'WS_PATH',
    group: 'server',
    kind: { type: 'string', pattern: /^\/[A-Za-z0-9_\-./~]*$/, hint: "a path starting with '/'" },
    default: '/ws',
    description: 'WebSocket path; `{WS_PATH}/tenant/{id}` is the tenant-scoped endpoint.',
  },
  {
    name: 'NODE_ID',
    group: 'server',
    kind: {
      type: 'string',
      pattern: /^[A-Za-z0-9_\-.:]{1,64}$/,
      hint: '1-64 characters of A-Z a-z 0-9 _ - . :',
    },
    default: undefined,
    description: "This node's id in `welcome` and broadcast envelopes; random when unset.",
  },
  {
    name: 'TRUST_PROXY',
    group: 'server',
    kind: {
      type: 'string',
      pattern: /^[0-9A-Za-z.:/%,\s]+$/,
      hint: "false, a hop count, or a comma-separated list of proxy addresses and CIDR ranges such as '10.0.0.0/8'",
    },
    default: 'false',
    description:
      'The proxies whose `X-Forwarded-For` names the client: `false`, a hop count, or a comma-separated list of addresses and CIDR ranges (`loopback`, `linklocal`, `uniquelocal` name their ranges). The header is read from the right, only when the peer is a trusted proxy. `true` is a deprecated alias of `loopback`.',
  },
  {
    name: 'MAX_CONNECTIONS',
    group: 'server',
    kind: { type: 'int', min: 0, max: 10_000_000 },
    default: '0',
    description: 'Open connections this node accepts before answering 503; 0 is unlimited.',
  },
  {
    name: 'V8_ALLOCATION_SITE_PRETENURING',
    group: 'server',
    kind: { type: 'bool' },
    default: 'false',
    description:
      'Leave V8\'s allocation-site pretenuring on; off by default, because after a connection storm V8 allocates the objects of every later client frame in the old generation, where each is freed by a full mark-compact instead of a scavenge; a load made mostly of push bursts (presence join storms) can run 5-11 % cheaper with it on (docs/benchmarks.md, "Pretenuring").',
  },
  {
    name: 'CLIENT_PUBLISH',
    group: 'protocol',
    kind: { type: 'bool' },
    default: 'true',
    production: 'false',
    description:
      'Let clients publish on every channel; when false, they publish where CHANNEL_RULES_FILE allows it.',
  },
  {
    name: 'TENANT_ISOLATION',
    group: 'protocol',
    kind: { type: 'bool' },
    default: 'true',
    description: 'Scope channel names by tenant (`news` becomes `tenant:{id}:news` internally).',
  },
  {
    name: 'TENANT_SUBDOMAIN_BASE',
    group: 'protocol',
    kind: { type: 'string', pattern: /^[a-z0-9.-]+$/i, hint: "a domain such as 'example.com'" },
    default: undefined,
    description: 'Resolve tenants from subdomains of this domain (`acme.example.com` -> `acme`).',
  },
  {
    name: 'ALLOWED_ORIGINS',
    group: 'protocol',
    kind: { type: 'list' },
    default: undefined,
    description: 'Comma-separated origins allowed to connect; unset allows any.',
  },
  {
    name: 'LISTEN_BACKLOG',
    group: 'server',
    kind: { type: 'int', min: 1, max: 1_000_000 },
    default: '4096',
    description:
      'Connection attempts the kernel queues while the gateway is busy accepting (capped by `net.core.somaxconn`); a reconnect storm overflows small ones.',
  },
  {
    name: 'HANDSHAKE_TIMEOUT_MS',
    group: 'server',
    kind: { type: 'int', min: 100, max: 3_600_000 },
    default: '10000',
    description:
      'How long a TCP connection may take to send the complete headers of its request (the upgrade or an API call), and stay silent before it; then it is closed.',
  },
  {
    name: 'MAX_MESSAGE_BYTES',
    group: 'protocol',
    kind: { type: 'int', min: 64, max: 268_435_456 },
    default: '65536',
    description: 'Largest inbound frame; larger closes with 1009.',
  },
  {
    name: 'MAX_JSON_DEPTH',
    group: 'protocol',
    kind: { type: 'int', min: 2, max: 1000 },
    default: '32',
    description:
      'Deepest nesting of an inbound frame or HTTP API body (the object itself is level 1); deeper gets `bad_request` / 400.',
  },
  {
    name: 'PRESENCE_TTL_MS',
    group: 'protocol',
    kind: { type: 'int', min: 100, max: 86_400_000 },
    default: '60000',
    description:
      'A presence member whose node stopped refreshing it (the node died) is gone after this long; channels get presence from `CHANNEL_RULES_FILE`.',
  },
  {
    name: 'PRESENCE_GRACE_MS',
    group: 'protocol',
    kind: { type: 'int', min: 0, max: 3_600_000 },
    default: '3000',
    description:
      'How long a disconnected session stays a presence member, so that a client that reconnects at once does not appear to leave.',
  },
  {
    name: 'MAX_PRESENCE_INFO_BYTES',
    group: 'protocol',
    kind: { type: 'int', min: 0, max: 1_048_576 },
    default: '1024',
    description: "A token's `info` claim larger than this (as JSON) is left out of presence.",
  },
  {
    name: 'MAX_PENDING_BYTES',
    group: 'protocol',
    kind: { type: 'int', min: 64, max: 4_294_967_296 },
    default: undefined,
    description:
      'Bytes of inbound frames queued per session before the gateway stops reading that client; unset is four times `MAX_MESSAGE_BYTES`.',
  },
  {
    name: 'MAX_BUFFERED_BYTES',
    group: 'protocol',
    kind: { type: 'int', min: 1024, max: 1_073_741_824 },
    default: '1048576',
    description: 'Largest outbound buffer per session before the slow-consumer policy applies.',
  },
  {
    name: 'SLOW_CONSUMER_POLICY',
    group: 'protocol',
    kind: { type: 'enum', values: ['close', 'drop'] },
    default: 'close',
    description: '`close` a session over MAX_BUFFERED_BYTES with 4408, or `drop` (and count) its messages.',
  },
  {
    name: 'MAX_SUBSCRIPTIONS_PER_SESSION',
    group: 'protocol',
    kind: { type: 'int', min: 1, max: 1_000_000 },
    default: '128',
    description: 'Channels one session may hold.',
  },
  {
    name: 'HEARTBEAT_MS',
    group: 'protocol',
    kind: { type: 'int', min: 100, max: 3_600_000 },
    default: '25000',
    description: 'WebSocket ping interval; a client silent for two intervals is terminated.',
  },
  {
    name: 'RATE_LIMIT_CLOSE_AFTER',
    group: 'protocol',
    kind: { type: 'int', min: 1, max: 1_000_000 },
    default: '50',
    description: 'Refused `rate_limited` frames in a row before closing with 4429.',
  },
  {
    name: 'AUTH_DISABLED',
    group: 'auth',
    kind: { type: 'bool' },
    default: 'false',
    description:
      'Run without authentication on purpose: every session is anonymous. The production profile refuses to start without a JWT key unless this is true.',
  },
  {
    name: 'TENANT_AGNOSTIC_TOKENS',
    group: 'auth',
    kind: { type: 'bool' },
    default: 'false',
    description:
      'Let tokens without `tenant_id` enter any tenant the URL, header, query or subdomain names; off, they are refused there (403 / `forbidden`).',
  },
  {
    name: 'AUTH_TIMEOUT_MS',
    group: 'auth',
    kind: { type: 'int', min: 1, max: 3_600_000 },
    default: '5000',
    description: 'With a required token, how long a session may take to send `auth`.',
  },
  {
    name: 'API_KEY',
    group: 'http',
    kind: { type: 'string' },
    default: undefined,
    description:
      'Admin key (id `default`) of the HTTP API (`Authorization: Bearer <key>`: the server API, `GET /api/stats`, the detailed `GET /health`); with neither this nor `API_KEYS`, the HTTP API is off. The production profile needs at least 16 characters.',
  },
  {
    name: 'API_KEYS',
    group: 'http',
    kind: { type: 'string', hint: 'id:key:scope,...' },
    default: undefined,
    description:
      'More keys of the HTTP API, comma-separated `id:key:scope` entries (`scope` is `admin`, the default, or `publish`: only `/api/publish` and `/api/broadcast`), e.g. `ops:<key>:admin,app:<key>:publish`; each key at least 16 characters, ids 1-64 of A-Z a-z 0-9 _ - . (the id is logged, never the key). Several keys allow rotation.',
  },
  {
    name: 'ADMIN_ENABLED',
    group: 'http',
    kind: { type: 'bool' },
    default: 'false',
    description:
      'Serve the admin console at `/admin` (nodes, busiest channels, message rate; publish, disconnect a user); it signs in with an admin key, so `API_KEY` or an admin entry of `API_KEYS` is required.',
  },
  {
    name: 'DEMO_ENABLED',
    group: 'http',
    kind: { type: 'bool' },
    default: 'true',
    production: 'false',
    description:
      'Serve the demo page at `/demo` (a client of `@dotmac-ws/client`); off in the production profile.',
  },
  {
    name: 'ANNOUNCE_INTERVAL_MS',
    group: 'backend',
    kind: { type: 'int', min: 50, max: 600_000 },
    default: '5000',
    description:
      'How often this node announces itself to the others over the backend; a node silent for three announcements is dropped from `GET /api/info` and `POST /api/channels`.',
  },
  {
    name: 'CLUSTER_QUERY_TIMEOUT_MS',
    group: 'backend',
    kind: { type: 'int', min: 10, max: 60_000 },
    default: '1000',
    description:
      'How long `GET /api/info` and `POST /api/channels` wait for the other nodes; a node that did not answer is named in `missing`.',
  },
  {
    name: 'DRAIN_TIMEOUT_MS',
    group: 'operations',
    kind: { type: 'int', min: 0, max: 3_600_000 },
    default: '10000',
    description: 'On SIGTERM/SIGINT, how long to wait for sessions to close before terminating them.',
  },
  {
    name: 'LOG_LEVEL',
    group: 'operations',
    kind: { type: 'enum', values: ['debug', 'info', 'warn', 'error', 'silent'] },
    default: 'info',
    description: 'Least severe level logged (JSON lines).',
  },
];

/** What the schema needs to know of the plugins. */
export interface SchemaPlugin {
  /** The variables the plugin owns. */
  env: readonly EnvVar[];
  /** The backend it provides, if any. */
  backendName?: string;
}

/**
 * Every variable: the gateway's own, `BACKEND` (with the backends the plugins bring), then the plugins'. Throws when two
 * declare the same variable (each has one owner).
 */
export function envSchema(plugins: readonly SchemaPlugin[]): EnvVar[] {
  const backends = [
    'memory',
    ...plugins.flatMap((p) => (p.backendName === undefined ? [] : [p.backendName])),
  ];
  const backend: EnvVar = {
    name: 'BACKEND',
    group: 'backend',
    kind: { type: 'enum', values: backends },
    default: 'memory',
    description: `How nodes reach each other: ${backends.map((b) => `\`${b}\``).join(', ')}.`,
  };
  const all = [...CORE_ENV, backend, ...plugins.flatMap((p) => p.env)];
  const seen = new Set<string>();
  for (const v of all) {
    // One owner per variable: two declarations would read it two ways.
    if (seen.has(v.name)) throw new Error(`${v.name} is declared twice: give it one owner`);
    seen.add(v.name);
  }
  return all;
}

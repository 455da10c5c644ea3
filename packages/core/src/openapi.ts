import { MAX_API_BODY_BYTES } from './http-api-body';
import { MAX_BROADCAST_CHANNELS } from './http-server-api';
import { VERSION } from './version';

/** A JSON Schema (draft 2020-12), as an OpenAPI 3.1 document holds it. */
export interface JsonSchema {
  readonly [keyword: string]: unknown;
}

/** A request or response body of one media type, with an example a test sends or expects. */
export interface OpenApiMediaType {
  readonly schema: JsonSchema;
  readonly example?: unknown;
}

/** A response header. */
export interface OpenApiHeader {
  readonly description: string;
  readonly required?: boolean;
  readonly schema: JsonSchema;
}

/** One answer of an operation. */
export interface OpenApiResponse {
  readonly description: string;
  readonly headers?: Readonly<Record<string, OpenApiHeader>>;
  /** Absent when there is no body (`HEAD`). */
  readonly content?: Readonly<Record<string, OpenApiMediaType>>;
}

/** One method of one path. */
export interface OpenApiOperation {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  /** `[]`: no key needed; absent: the document's (a bearer API key). */
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly content: Readonly<Record<string, OpenApiMediaType>>;
  };
  /** By status code. */
  readonly responses: Readonly<Record<string, OpenApiResponse>>;
}

/** The methods the gateway serves. */
export type OpenApiMethod = 'get' | 'head' | 'post';

/** An OpenAPI 3.1 document, as far as {@link OPENAPI_DOCUMENT} uses it. */
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, Readonly<Partial<Record<OpenApiMethod, OpenApiOperation>>>>>;
  readonly components: {
    readonly securitySchemes: Readonly<Record<string, JsonSchema>>;
    readonly schemas: Readonly<Record<string, JsonSchema>>;
  };
}

const MAX_BODY_BYTES = MAX_API_BODY_BYTES;

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema, example?: unknown): Readonly<Record<string, OpenApiMediaType>> => ({
  'application/json': example === undefined ? { schema } : { schema, example },
});
const CHANNEL: JsonSchema = {
  type: 'string',
  pattern: '^[A-Za-z0-9_\\-.:@/=]{1,200}$',
  description: 'A channel name as clients name it: 1-200 characters of A-Z a-z 0-9 _ - . : @ / =.',
};
const TENANT: JsonSchema = {
  type: ['string', 'null'],
  pattern: '^[A-Za-z0-9_\\-.@/=]{1,200}$',
  description: 'The tenant whose channel (or sessions) is meant; null or absent: no tenant.',
};
const SESSION_KEY: JsonSchema = { type: 'string', minLength: 1, maxLength: 256 };
const COUNT: JsonSchema = { type: 'integer', minimum: 0 };
const EMPTY: JsonSchema = { type: 'object', additionalProperties: false, maxProperties: 0 };

const SCHEMAS: Record<string, JsonSchema> = {
  Error: {
    type: 'object',
    description:
      'Every refusal: `code` for programs, `message` for people (naming every problem of a body in one 400).',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        additionalProperties: false,
        properties: {
          code: {
            type: 'string',
            description:
              '`bad_request`, `not_available` (no history or presence in the channel), `invalid_channel`, `unauthorized`, `forbidden`, `api_disabled`, `payload_too_large`, `backend_unavailable`, `method_not_allowed`, `internal_error`.',
          },
          message: { type: 'string' },
          retry_after_ms: {
            type: 'integer',
            minimum: 0,
            description: 'With `backend_unavailable`: when to try again.',
          },
        },
      },
    },
  },
  PublishRequest: {
    type: 'object',
    description:
      'Exactly one target: `channel`, `user_id`, `role`, `permission`, or `tenant_id` alone (every session of the tenant); beside another target, `tenant_id` scopes it.',
    required: ['type'],
    anyOf: ['channel', 'user_id', 'role', 'permission', 'tenant_id'].map((k) => ({ required: [k] })),
    properties: {
      channel: CHANNEL,
      user_id: { type: 'string', minLength: 1 },
      role: { type: 'string', minLength: 1 },
      permission: { type: 'string', minLength: 1 },
      tenant_id: TENANT,
      type: ref('MessageType'),
      data: { description: 'The payload (any JSON); absent is null.' },
      idempotency_key: {
        type: 'string',
        minLength: 1,
        maxLength: 200,
        description:
          'In a channel with history: a retry with the same key within the history TTL (at least 2 min) is not delivered again (`delivered_local: 0`, the first offset).',
      },
    },
  },
  MessageType: {
    type: 'string',
    pattern: '^[A-Za-z0-9_\\-.:@/]{1,100}$',
    description:
      'The delivered frame `type`: 1-100 characters of A-Z a-z 0-9 _ - . : @ /, not a server frame type.',
  },
  PublishAnswer: {
    type: 'object',
    required: ['delivered_local'],
    additionalProperties: false,
    properties: {
      delivered_local: {
        ...COUNT,
        description: 'Sessions on this node that got it (other nodes are not counted).',
      },
      offset: { ...COUNT, description: 'In a channel with history: its position.' },
      epoch: { type: 'string', description: "In a channel with history: the stream's epoch." },
    },
  },
  PublishUnavailable: {
    type: 'object',
    description: 'Not acknowledged as done: local subscribers may have it; retry (with `idempotency_key`).',
    required: ['error', 'delivered_local'],
    additionalProperties: false,
    properties: {
      error: { $ref: '#/components/schemas/Error/properties/error' },
      delivered_local: COUNT,
    },
  },
  BroadcastRequest: {
    type: 'object',
    required: ['channels', 'type'],
    properties: {
      channels: { type: 'array', minItems: 1, maxItems: MAX_BROADCAST_CHANNELS, items: CHANNEL },
      tenant_id: TENANT,
      type: ref('MessageType'),
      data: { description: 'The payload (any JSON); absent is null.' },
      idempotency_key: {
        type: 'string',
        minLength: 1,
        maxLength: 200,
        description: 'Used per channel as `<key>:<channel>`.',
      },
    },
  },
  BroadcastAnswer: {
    type: 'object',
    required: ['results'],
    additionalProperties: false,
    properties: {
      results: {
        type: 'array',
        description: 'One per channel, in the order asked: its offset (with history), or why it failed.',
        items: {
          type: 'object',
          required: ['channel'],
          additionalProperties: false,
          properties: {
            channel: CHANNEL,
            offset: COUNT,
            error: { $ref: '#/components/schemas/Error/properties/error' },
          },
        },
      },
    },
  },
  SubscribeRequest: {
    type: 'object',
    description: 'Whose sessions: `user_id` or `session_id` (not both), optionally in `tenant_id`.',
    required: ['channel'],
    anyOf: [{ required: ['user_id'] }, { required: ['session_id'] }],
    not: { required: ['user_id', 'session_id'] },
    properties: { user_id: SESSION_KEY, session_id: SESSION_KEY, tenant_id: TENANT, channel: CHANNEL },
  },
  DisconnectRequest: {
    type: 'object',
    description:
      'Whose sessions: `user_id` or `session_id` (not both), optionally in `tenant_id`; or `tenant_id` alone (every session of the tenant).',
    anyOf: [{ required: ['user_id'] }, { required: ['session_id'] }, { required: ['tenant_id'] }],
    not: { required: ['user_id', 'session_id'] },
    properties: {
      user_id: SESSION_KEY,
      session_id: SESSION_KEY,
      tenant_id: TENANT,
      code: {
        type: 'integer',
        minimum: 4000,
        maximum: 4999,
        default: 4403,
        description: 'The close code; 4403 (the client SDK does not reconnect by itself) unless given.',
      },
      reason: { type: 'string', description: "The close reason, at most 123 bytes; 'forbidden' with 4403." },
    },
  },
  ChannelRequest: {
    type: 'object',
    required: ['channel'],
    properties: { channel: CHANNEL, tenant_id: TENANT },
  },
  HistoryRequest: {
    type: 'object',
    required: ['channel'],
    properties: {
      channel: CHANNEL,
      tenant_id: TENANT,
      limit: {
        type: 'integer',
        minimum: 0,
        maximum: 1000,
        description: "At most this many publications; default the channel's history size (at most 1000).",
      },
      since: ref('StreamPosition'),
      reverse: { type: 'boolean', default: false, description: 'Newest first.' },
    },
  },
  StreamPosition: {
    type: 'object',
    description: 'A position in a channel with history: publications after `offset` in `epoch`.',
    required: ['offset', 'epoch'],
    properties: { offset: COUNT, epoch: { type: 'string', minLength: 1, maxLength: 64 } },
  },
  HistoryAnswer: {
    type: 'object',
    required: ['offset', 'epoch', 'publications'],
    additionalProperties: false,
    properties: {
      offset: { ...COUNT, description: "The channel's top position." },
      epoch: { type: 'string' },
      publications: {
        type: 'array',
        items: {
          type: 'object',
          required: ['type', 'data', 'offset'],
          additionalProperties: false,
          properties: { type: { type: 'string' }, data: {}, offset: COUNT },
        },
      },
    },
  },
  PresenceAnswer: {
    type: 'object',
    required: ['clients'],
    additionalProperties: false,
    properties: {
      clients: {
        type: 'object',
        description: 'The members by session id.',
        additionalProperties: {
          type: 'object',
          required: ['user', 'node', 'joined_at'],
          additionalProperties: false,
          properties: {
            user: { type: ['string', 'null'], description: 'Null for an anonymous session.' },
            node: { type: 'string' },
            joined_at: { ...COUNT, description: 'Milliseconds since the epoch.' },
            info: { description: "The token's `info` claim, when it has one." },
          },
        },
      },
    },
  },
  PresenceStatsAnswer: {
    type: 'object',
    required: ['num_clients', 'num_users'],
    additionalProperties: false,
    properties: { num_clients: COUNT, num_users: COUNT },
  },
  ChannelsRequest: {
    type: 'object',
    properties: {
      pattern: {
        type: 'string',
        maxLength: 200,
        description: '`*` matches any run of characters, e.g. `chat:*`; absent: every channel.',
      },
      tenant_id: {
        ...TENANT,
        description:
          "Only this tenant's channels, by their names within it; absent: every channel by its internal name (`tenant:<id>:<name>` for tenants' channels).",
      },
    },
  },
  ChannelsAnswer: {
    type: 'object',
    required: ['channels'],
    additionalProperties: false,
    properties: {
      channels: {
        type: 'object',
        description: 'Channels with subscribers, summed over the live nodes.',
        additionalProperties: {
          type: 'object',
          required: ['num_clients'],
          additionalProperties: false,
          properties: { num_clients: COUNT },
        },
      },
      missing: ref('MissingNodes'),
    },
  },
  MissingNodes: {
    type: 'array',
    items: { type: 'string' },
    description:
      'Only when some did: the live nodes that did not answer in time (their figures are left out).',
  },
  NodeInfo: {
    type: 'object',
    required: [
      'node_id',
      'version',
      'uptime_s',
      'sessions',
      'users',
      'channels',
      'subscriptions',
      'messages_sent',
      'messages_received',
      'memory_rss',
    ],
    additionalProperties: false,
    properties: {
      node_id: { type: 'string' },
      version: { type: 'string', description: "The node's @dotmac-ws/core version." },
      uptime_s: COUNT,
      sessions: COUNT,
      users: COUNT,
      channels: COUNT,
      subscriptions: COUNT,
      messages_sent: { ...COUNT, description: 'Frames sent since the start (rates come from two readings).' },
      messages_received: { ...COUNT, description: 'Frames received since the start.' },
      memory_rss: { ...COUNT, description: 'Resident memory in bytes.' },
    },
  },
  InfoAnswer: {
    type: 'object',
    required: ['nodes'],
    additionalProperties: false,
    properties: {
      nodes: { type: 'array', minItems: 1, items: ref('NodeInfo'), description: 'This node first.' },
      missing: ref('MissingNodes'),
    },
  },
  Health: {
    type: 'object',
    description:
      'Without a key: statuses and the session count only; with a key, each component adds its details (hosts, node id, errors).',
    required: ['status', 'components'],
    additionalProperties: false,
    properties: {
      status: ref('HealthStatus'),
      components: {
        type: 'object',
        required: ['server', 'sessions', 'scaling_backend'],
        additionalProperties: ref('ComponentHealth'),
      },
    },
  },
  HealthStatus: { enum: ['healthy', 'degraded', 'unhealthy'] },
  ComponentHealth: {
    type: 'object',
    required: ['status'],
    properties: { status: ref('HealthStatus') },
  },
  Ready: {
    type: 'object',
    required: ['ready', 'status'],
    additionalProperties: false,
    properties: {
      ready: { type: 'boolean' },
      status: { enum: ['starting', 'running', 'draining', 'stopped'] },
    },
  },
  Stats: {
    type: 'object',
    description: "This node's figures (`GatewayStats`).",
    required: [
      'node_id',
      'status',
      'uptime_s',
      'sessions',
      'channels',
      'subscriptions',
      'backend_topics',
      'pending_inbound',
      'counters',
      'backend',
      'channel_features',
    ],
    additionalProperties: false,
    properties: {
      node_id: { type: 'string' },
      status: { enum: ['starting', 'running', 'draining', 'stopped'] },
      uptime_s: COUNT,
      sessions: {
        type: 'object',
        required: ['total', 'authenticated', 'users', 'tenants', 'by_tenant'],
        additionalProperties: false,
        properties: {
          total: COUNT,
          authenticated: COUNT,
          users: COUNT,
          tenants: COUNT,
          by_tenant: { type: 'object', additionalProperties: COUNT },
        },
      },
      channels: COUNT,
      subscriptions: COUNT,
      backend_topics: COUNT,
      pending_inbound: {
        type: 'object',
        required: ['frames', 'bytes'],
        additionalProperties: false,
        properties: { frames: COUNT, bytes: COUNT },
      },
      counters: { type: 'object', additionalProperties: COUNT },
      backend: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string' } },
        additionalProperties: { type: ['number', 'string'] },
      },
      channel_features: { type: 'object', additionalProperties: { type: 'number' } },
    },
  },
  Empty: { ...EMPTY, description: 'Done.' },
};

const ERROR = ref('Error');
const badRequest: OpenApiResponse = {
  description:
    'The body is not what the endpoint takes (`bad_request`, naming every problem), or the channel has no history or presence (`not_available`).',
  content: json(ERROR, {
    error: {
      code: 'bad_request',
      message: '"channel" must be 1-200 characters of A-Z a-z 0-9 _ - . : @ / =',
    },
  }),
};
const errorWithCode = (code: string, retry = false): JsonSchema => ({
  allOf: [ERROR],
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { const: code } },
      ...(retry ? { required: ['retry_after_ms'] } : {}),
    },
  },
});
const unauthorized: OpenApiResponse = {
  description: 'No valid API key was presented.',
  headers: { 'WWW-Authenticate': { description: '`Bearer`', required: true, schema: { const: 'Bearer' } } },
  content: json(errorWithCode('unauthorized'), {
    error: { code: 'unauthorized', message: 'a valid API key is required (Authorization: Bearer <key>)' },
  }),
};
const forbidden: OpenApiResponse = {
  description: 'The key has scope `publish`: it may only call `/api/publish` and `/api/broadcast`.',
  content: json(errorWithCode('forbidden'), {
    error: {
      code: 'forbidden',
      message: 'the API key "app" may only publish (/api/publish, /api/broadcast)',
    },
  }),
};
const apiDisabled: OpenApiResponse = {
  description: 'The HTTP API is off: the gateway has no API key.',
  content: json(errorWithCode('api_disabled'), {
    error: { code: 'api_disabled', message: 'the HTTP API is off: set an API key to turn it on' },
  }),
};
const tooLarge: OpenApiResponse = {
  description: `The body is larger than ${MAX_BODY_BYTES} bytes.`,
  content: json(errorWithCode('payload_too_large'), {
    error: { code: 'payload_too_large', message: `the body must be at most ${MAX_BODY_BYTES} bytes` },
  }),
};
const RETRY_AFTER: Readonly<Record<string, OpenApiHeader>> = {
  'Retry-After': {
    description: 'Seconds.',
    required: true,
    schema: { type: 'string', pattern: '^[1-9][0-9]*$' },
  },
};
const unavailable: OpenApiResponse = {
  description:
    'The scaling backend (or the history or presence store) did not answer: nothing was done; retry later.',
  headers: RETRY_AFTER,
  content: json(errorWithCode('backend_unavailable', true), {
    error: {
      code: 'backend_unavailable',
      message: 'the scaling backend did not accept the command',
      retry_after_ms: 1000,
    },
  }),
};
const ok = (description: string, schema: JsonSchema, example: unknown): OpenApiResponse => ({
  description,
  content: json(schema, example),
});

/** A `POST` endpoint of the server API with an admin key: its body, its answer, its refusals. */
function adminPost(
  operationId: string,
  tag: string,
  summary: string,
  request: { schema: string; example: unknown },
  answer: OpenApiResponse,
  description?: string,
): OpenApiOperation {
  return {
    operationId,
    summary,
    ...(description === undefined ? {} : { description }),
    tags: [tag],
    requestBody: { required: true, content: json(ref(request.schema), request.example) },
    responses: {
      200: answer,
      400: badRequest,
      401: unauthorized,
      403: forbidden,
      404: apiDisabled,
      413: tooLarge,
      503: unavailable,
    },
  };
}

const EPOCH = 'zRq2bW0y';
const PUBLIC: readonly Readonly<Record<string, readonly string[]>>[] = [];

/**
 * The OpenAPI 3.1 document of the gateway's whole HTTP API (protocol.md, "HTTP API" and v1.1
 * "Server API"): every path and method, the request bodies with their JSON Schemas and examples,
 * the answers with their schemas, bearer API keys and their scopes, and the error shape
 * `{error:{code,message,retry_after_ms?}}`. Served at `GET /api/openapi.json`; a test calls every
 * path with its example and checks the answer against the schema.
 *
 * @example
 * import { OPENAPI_DOCUMENT } from '@dotmac-ws/core'
 * writeFileSync('openapi.json', JSON.stringify(OPENAPI_DOCUMENT, null, 2))
 */
export const OPENAPI_DOCUMENT: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'dotmac-ws HTTP API',
    version: VERSION,
    description:
      'The HTTP API of a dotmac-ws gateway, on the port its WebSockets use. Calls under /api take `Authorization: Bearer <key>`: an `admin` key calls everything, a `publish` key only /api/publish and /api/broadcast. Without any key configured, /api answers 404 `api_disabled`. The server API acts on the whole cluster: every node, over the scaling backend.',
  },
  security: [{ apiKey: [] }],
  tags: [
    { name: 'operations', description: 'Health, readiness and metrics, for orchestrators and monitoring.' },
    { name: 'publish', description: 'Deliver messages (a `publish` key may call these).' },
    { name: 'sessions', description: 'Act on sessions wherever they are connected.' },
    { name: 'channels', description: 'History and presence of a channel.' },
    { name: 'cluster', description: 'The nodes and their channels.' },
  ],
  paths: {
    '/health': {
      get: {
        operationId: 'health',
        summary: "The node's health",
        description: '200 while healthy or degraded (a lost backend degrades), 503 when unhealthy.',
        tags: ['operations'],
        security: PUBLIC,
        responses: {
          200: ok('Healthy or degraded.', ref('Health'), {
            status: 'healthy',
            components: {
              server: { status: 'healthy' },
              sessions: { status: 'healthy', total_sessions: 1 },
              scaling_backend: { status: 'healthy' },
            },
          }),
          503: { description: 'Unhealthy.', content: json(ref('Health')) },
        },
      },
      head: {
        operationId: 'healthHead',
        summary: "The node's health, status only",
        tags: ['operations'],
        security: PUBLIC,
        responses: { 200: { description: 'Healthy or degraded.' }, 503: { description: 'Unhealthy.' } },
      },
    },
    '/ready': {
      get: {
        operationId: 'ready',
        summary: 'Whether the node accepts connections',
        tags: ['operations'],
        security: PUBLIC,
        responses: {
          200: ok('Running.', ref('Ready'), { ready: true, status: 'running' }),
          503: ok('Starting or draining.', ref('Ready'), { ready: false, status: 'draining' }),
        },
      },
      head: {
        operationId: 'readyHead',
        summary: 'Whether the node accepts connections, status only',
        tags: ['operations'],
        security: PUBLIC,
        responses: { 200: { description: 'Running.' }, 503: { description: 'Starting or draining.' } },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (bind the port privately in production)',
        tags: ['operations'],
        security: PUBLIC,
        responses: {
          200: {
            description: 'The Prometheus text exposition.',
            content: {
              'text/plain': {
                schema: { type: 'string' },
                example: '# TYPE dotmac_ws_connections_total counter\ndotmac_ws_connections_total 2\n',
              },
            },
          },
        },
      },
      head: {
        operationId: 'metricsHead',
        summary: 'Prometheus metrics, headers only',
        tags: ['operations'],
        security: PUBLIC,
        responses: { 200: { description: 'Served.' } },
      },
    },
    '/api/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        tags: ['operations'],
        security: PUBLIC,
        responses: {
          200: {
            description: 'The OpenAPI 3.1 document of the HTTP API.',
            content: json({ type: 'object', required: ['openapi', 'info', 'paths'] }),
          },
        },
      },
    },
    '/api/publish': {
      post: {
        operationId: 'publish',
        summary: 'Publish to a channel, a user, a tenant, a role or a permission',
        description:
          "Delivered on every node. In a channel with history the answer carries the publication's position.",
        tags: ['publish'],
        requestBody: {
          required: true,
          content: json(ref('PublishRequest'), {
            channel: 'news',
            type: 'headline',
            data: { title: 'Hello' },
          }),
        },
        responses: {
          200: ok('Published.', ref('PublishAnswer'), { delivered_local: 1, offset: 1, epoch: EPOCH }),
          400: badRequest,
          401: unauthorized,
          404: apiDisabled,
          413: tooLarge,
          503: {
            description:
              'The scaling backend (or the history store) did not take it: not acknowledged as done; local subscribers may have it. Retry, with the same `idempotency_key`.',
            headers: RETRY_AFTER,
            content: json(ref('PublishUnavailable'), {
              error: {
                code: 'backend_unavailable',
                message:
                  'the scaling backend did not accept the message: only subscribers on this node got it',
                retry_after_ms: 1000,
              },
              delivered_local: 1,
            }),
          },
        },
      },
    },
    '/api/broadcast': {
      post: {
        operationId: 'broadcast',
        summary: 'Publish one message to many channels',
        description: 'Each channel is published to on its own: the answer has its offset, or its error.',
        tags: ['publish'],
        requestBody: {
          required: true,
          content: json(ref('BroadcastRequest'), {
            channels: ['news', 'sport'],
            type: 'headline',
            data: { title: 'Hello' },
          }),
        },
        responses: {
          200: ok('Published, channel by channel.', ref('BroadcastAnswer'), {
            results: [
              { channel: 'news', offset: 2 },
              { channel: 'sport', offset: 1 },
            ],
          }),
          400: badRequest,
          401: unauthorized,
          404: apiDisabled,
          413: tooLarge,
        },
      },
    },
    '/api/subscribe': {
      post: adminPost(
        'subscribe',
        'sessions',
        "Subscribe a user's (or a session's) sessions to a channel, on every node",
        { schema: 'SubscribeRequest', example: { user_id: 'u42', channel: 'alerts' } },
        ok('Done: each matching session got a `subscribed` push.', ref('Empty'), {}),
      ),
    },
    '/api/unsubscribe': {
      post: adminPost(
        'unsubscribe',
        'sessions',
        "Unsubscribe a user's (or a session's) sessions from a channel, on every node",
        { schema: 'SubscribeRequest', example: { user_id: 'u42', channel: 'alerts' } },
        ok('Done: each matching session got an `unsubscribed` push.', ref('Empty'), {}),
      ),
    },
    '/api/disconnect': {
      post: adminPost(
        'disconnect',
        'sessions',
        'Close the sessions of a user, a session or a tenant, on every node',
        { schema: 'DisconnectRequest', example: { user_id: 'u42' } },
        ok('Done: the matching sessions are closed (4403 unless `code` says otherwise).', ref('Empty'), {}),
      ),
    },
    '/api/history': {
      post: adminPost(
        'history',
        'channels',
        "A channel's history",
        { schema: 'HistoryRequest', example: { channel: 'news', limit: 10 } },
        ok('The top position and the publications asked for.', ref('HistoryAnswer'), {
          offset: 2,
          epoch: EPOCH,
          publications: [
            { type: 'headline', data: { title: 'Hello' }, offset: 1 },
            { type: 'headline', data: { title: 'Hello' }, offset: 2 },
          ],
        }),
      ),
    },
    '/api/history_remove': {
      post: adminPost(
        'historyRemove',
        'channels',
        "Forget a channel's history",
        { schema: 'ChannelRequest', example: { channel: 'news' } },
        ok('Done: the channel has a new epoch.', ref('Empty'), {}),
      ),
    },
    '/api/presence': {
      post: adminPost(
        'presence',
        'channels',
        "A channel's members",
        { schema: 'ChannelRequest', example: { channel: 'chat:lobby' } },
        ok('The members by session id.', ref('PresenceAnswer'), {
          clients: {
            '6f1c2d9e-5b7a-4c1e-9a53-0c2b8e4d7f10': { user: 'alice', node: 'n1', joined_at: 1718000000000 },
          },
        }),
      ),
    },
    '/api/presence_stats': {
      post: adminPost(
        'presenceStats',
        'channels',
        "Counts of a channel's members",
        { schema: 'ChannelRequest', example: { channel: 'chat:lobby' } },
        ok('Members and distinct users.', ref('PresenceStatsAnswer'), { num_clients: 1, num_users: 1 }),
      ),
    },
    '/api/channels': {
      post: adminPost(
        'channels',
        'cluster',
        'Channels with subscribers, summed over the nodes',
        { schema: 'ChannelsRequest', example: { pattern: 'chat:*' } },
        ok('By name.', ref('ChannelsAnswer'), { channels: { 'chat:lobby': { num_clients: 1 } } }),
      ),
    },
    '/api/info': {
      get: {
        operationId: 'info',
        summary: 'The live nodes and their figures',
        description: 'A node silent for three announcements is dropped.',
        tags: ['cluster'],
        responses: {
          200: ok('Every live node that answered.', ref('InfoAnswer'), {
            nodes: [
              {
                node_id: 'n1',
                version: VERSION,
                uptime_s: 3600,
                sessions: 1,
                users: 1,
                channels: 1,
                subscriptions: 1,
                messages_sent: 1200,
                messages_received: 300,
                memory_rss: 83886080,
              },
            ],
          }),
          401: unauthorized,
          403: forbidden,
          404: apiDisabled,
          503: unavailable,
        },
      },
    },
    '/api/stats': {
      get: {
        operationId: 'stats',
        summary: "This node's figures",
        tags: ['cluster'],
        responses: {
          200: { description: "This node's sessions, channels and counters.", content: json(ref('Stats')) },
          401: unauthorized,
          403: forbidden,
          404: apiDisabled,
        },
      },
    },
  },
  components: {
    securitySchemes: {
      apiKey: {
        type: 'http',
        scheme: 'bearer',
        description:
          'An API key (`API_KEY`, or an entry of `API_KEYS`): scope `admin` calls everything, scope `publish` only /api/publish and /api/broadcast (403 elsewhere).',
      },
    },
    schemas: SCHEMAS,
  },
};

import { TestClient, waitUntil } from '@dotmac-ws/test-utils';
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { MAX_API_BODY_BYTES, ROUTES } from '../src/http-api';
import {
  type Authenticator,
  type ChannelPolicy,
  type GatewayOptions,
  MemoryBackend,
  MemoryBus,
} from '../src/index';
import {
  type JsonSchema,
  OPENAPI_DOCUMENT,
  type OpenApiMethod,
  type OpenApiOperation,
  type OpenApiResponse,
} from '../src/openapi';
import { startTestGateway, type TestGateway } from './helpers';

const ADMIN = 'admin-key-0123456789';
/** The publish key's id is `app`, as in the document's 403 example. */
const PUBLISHER = 'publish-key-0123456789';
const DOC = OPENAPI_DOCUMENT;

/** Every channel has history and presence, except `plain:*`. */
const policy: ChannelPolicy = {
  canSubscribe: () => true,
  canPublish: () => true,
  options: (c) =>
    c.name.startsWith('plain:') ? null : { historySize: 100, historyTtlMs: 60_000, presence: true },
};
/** The token is the user id. */
const authenticator: Authenticator = { authenticate: (token) => ({ userId: token }) };

function node(nodeId: string, bus: MemoryBus, extra: GatewayOptions = {}): Promise<TestGateway> {
  return startTestGateway({
    nodeId,
    backend: new MemoryBackend({ bus }),
    authenticator,
    channelPolicy: policy,
    announceIntervalMs: 100,
    clusterQueryTimeoutMs: 1000,
    apiKeys: [
      { id: 'ops', key: ADMIN },
      { id: 'app', key: PUBLISHER, scope: 'publish' },
    ],
    ...extra,
  });
}

/** A real answer: status, headers and the body as text. */
interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function call(
  base: string,
  method: OpenApiMethod,
  path: string,
  options: { key?: string | null; body?: string } = {},
): Promise<Answer> {
  const key = options.key === undefined ? ADMIN : options.key;
  const r = await fetch(`${base}${path}`, {
    method: method.toUpperCase(),
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

/** The request example of an operation as the body of a call (none for GET and HEAD). */
function example(op: OpenApiOperation): { body?: string } {
  const media = op.requestBody?.content['application/json'];
  return media === undefined ? {} : { body: JSON.stringify(media.example) };
}

// Strict, but for `required` naming properties defined beside it (anyOf: [{required: ['channel']}, …])
// and type lists (['string', 'null'], as OpenAPI 3.1 writes nullable).
const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true });
// The document's schemas sit under `components`, where `#/components/schemas/…` points.
ajv.addKeyword({ keyword: 'components' });
const validators = new Map<JsonSchema, ReturnType<typeof ajv.compile>>();

/** Validates `value` against one of the document's schemas; returns ajv's errors as text, or ''. */
function problems(schema: JsonSchema, value: unknown): string {
  let validate = validators.get(schema);
  if (validate === undefined) {
    validate = ajv.compile({ components: DOC.components, allOf: [schema] });
    validators.set(schema, validate);
  }
  return validate(value) ? '' : ajv.errorsText(validate.errors);
}

/** Checks a real answer against the documented response: media type, headers, body schema. */
function checkAnswer(what: string, answer: Answer, documented: OpenApiResponse): void {
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    const value = answer.headers.get(name);
    if (header.required === true) expect(value, `${what}: header ${name}`).not.toBeNull();
    if (value !== null) expect(problems(header.schema, value), `${what}: header ${name}`).toBe('');
  }
  if (documented.content === undefined) {
    expect(answer.text, `${what}: no body`).toBe('');
    return;
  }
  const type = (answer.headers.get('content-type') ?? '').split(';')[0]!;
  const media = documented.content[type];
  expect(media, `${what}: content-type ${type} is documented`).toBeDefined();
  const body = type === 'application/json' ? (JSON.parse(answer.text) as unknown) : answer.text;
  expect(problems(media!.schema, body), `${what}: ${answer.text.slice(0, 500)}`).toBe('');
  if (media!.example !== undefined) {
    expect(problems(media!.schema, media!.example), `${what}: the documented example`).toBe('');
  }
}

/** Documented answers no test gateway here can give, and why. */
const NOT_PROVOKED: Record<string, string> = {
  'GET /health 503': 'unhealthy only while the server is not running: nobody answers then',
  'HEAD /health 503': 'unhealthy only while the server is not running: nobody answers then',
  'POST /api/history 503': 'the memory history store always answers',
  'POST /api/history_remove 503': 'the memory history store always answers',
  'POST /api/presence 503': 'the memory presence store always answers',
  'POST /api/presence_stats 503': 'the memory presence store always answers',
};

describe('the OpenAPI document (GET /api/openapi.json)', () => {
  it('is OpenAPI 3.1 whose schemas compile in strict mode, with one example per request body', () => {
    expect(DOC.openapi).toBe('3.1.0');
    expect(MAX_API_BODY_BYTES).toBe(1024 * 1024);
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(DOC.paths)) {
      for (const [method, op] of Object.entries(item) as [OpenApiMethod, OpenApiOperation][]) {
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        if (method === 'post') {
          const media = op.requestBody?.content['application/json'];
          expect(media?.example, `${path}: request example`).toBeDefined();
          expect(problems(media!.schema, media!.example), `${path}: request example`).toBe('');
        }
      }
    }
    // Round trip: what the gateway serves is plain JSON.
    expect(JSON.parse(JSON.stringify(DOC))).toEqual(DOC);
  });

  it('documents every route the gateway serves, and nothing else', () => {
    const served = Object.entries(ROUTES)
      .flatMap(([path, methods]) => methods.map((m) => `${m} ${path}`))
      .sort();
    const documented = Object.entries(DOC.paths)
      .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(served);
  });

  it('every documented answer of every path comes back as documented from a real gateway', {
    timeout: 60_000,
  }, async () => {
    // A two-node cluster with a member in chat:lobby and a subscriber to news.
    const bus = new MemoryBus();
    const live = await node('n1', bus);
    const other = await node('n2', bus);
    await waitUntil(() => live.gw.cluster.nodes().length === 2, 2000, 'n1 heard n2');
    const alice = await TestClient.open(`${live.url}?token=alice`);
    const aliceId = ((await alice.welcome()).data as { session_id: string }).session_id;
    for (const channel of ['chat:lobby', 'news']) {
      expect((await alice.request({ type: 'subscribe', data: { channel } })).type).toBe('ack');
    }
    // Without keys: the API is off.
    const nokeys = await startTestGateway({ channelPolicy: policy });
    // A node whose backend is gone, that still counts a live peer (it announces every 5 s).
    const downBus = new MemoryBus();
    const downBackend = new MemoryBackend({ bus: downBus });
    const down = await node('d1', downBus, { backend: downBackend, announceIntervalMs: 5000 });
    await node('d2', downBus, { announceIntervalMs: 5000 });
    await waitUntil(() => down.gw.cluster.nodes().length === 2, 2000, 'd1 heard d2');
    await downBackend.stop();
    // A node that drains: a client that does not read holds its close handshake open.
    const draining = await node('r1', new MemoryBus(), { drainTimeoutMs: 30_000 });
    const late = await TestClient.open(`${draining.url}?token=late`);
    await late.welcome();
    late.ws.pause();
    const stopping = draining.gw.stop();

    const provoke: Record<
      string,
      (method: OpenApiMethod, path: string, op: OpenApiOperation) => Promise<Answer>
    > = {
      200: (m, p, op) => call(live.base, m, p, example(op)),
      400: (m, p) => call(live.base, m, p, { body: '[]' }),
      401: (m, p, op) => call(live.base, m, p, { key: null, ...example(op) }),
      403: (m, p, op) => call(live.base, m, p, { key: PUBLISHER, ...example(op) }),
      404: (m, p, op) => call(nokeys.base, m, p, example(op)),
      413: (m, p) => call(live.base, m, p, { body: 'x'.repeat(MAX_API_BODY_BYTES + 1) }),
      503: (m, p, op) => call(p === '/ready' ? draining.base : down.base, m, p, example(op)),
    };

    const seen: string[] = [];
    const ok = new Map<string, unknown>();
    for (const [path, item] of Object.entries(DOC.paths)) {
      for (const [method, op] of Object.entries(item) as [OpenApiMethod, OpenApiOperation][]) {
        for (const [status, documented] of Object.entries(op.responses)) {
          const what = `${method.toUpperCase()} ${path} ${status}`;
          if (NOT_PROVOKED[what] !== undefined) continue;
          const how = provoke[status];
          expect(how, `${what}: a way to provoke it`).toBeDefined();
          const answer = await how!(method, path, op);
          expect(answer.status, `${what}: ${answer.text.slice(0, 300)}`).toBe(Number(status));
          checkAnswer(what, answer, documented);
          // The fixed refusals come back word for word as the document shows them.
          if (['401', '403', '404', '413'].includes(status)) {
            expect(JSON.parse(answer.text), what).toEqual(documented.content?.['application/json']?.example);
          }
          if (status === '200' && documented.content?.['application/json'] !== undefined)
            ok.set(what, JSON.parse(answer.text) as unknown);
          seen.push(what);
        }
      }
    }
    // The answers were not empty shells: the cluster, the member and the history show.
    expect(ok.get('POST /api/publish 200')).toEqual({
      delivered_local: 1,
      offset: 1,
      epoch: expect.any(String),
    });
    expect(ok.get('POST /api/history 200')).toMatchObject({
      publications: [
        { type: 'headline', data: { title: 'Hello' }, offset: 1 },
        { type: 'headline', data: { title: 'Hello' }, offset: 2 },
      ],
    });
    expect(ok.get('POST /api/presence 200')).toEqual({
      clients: { [aliceId]: { user: 'alice', node: 'n1', joined_at: expect.any(Number) } },
    });
    expect(ok.get('POST /api/presence_stats 200')).toEqual({ num_clients: 1, num_users: 1 });
    expect(ok.get('POST /api/channels 200')).toEqual({ channels: { 'chat:lobby': { num_clients: 1 } } });
    expect(
      (ok.get('GET /api/info 200') as { nodes: { node_id: string }[] }).nodes.map((n) => n.node_id),
    ).toEqual(['n1', 'n2']);
    // Every documented answer was checked, but those listed as not provoked here.
    const documented = Object.entries(DOC.paths).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([m, op]) =>
        Object.keys((op as OpenApiOperation).responses).map((s) => `${m.toUpperCase()} ${path} ${s}`),
      ),
    );
    expect(seen.sort()).toEqual(documented.filter((w) => NOT_PROVOKED[w] === undefined).sort());
    expect(other.gw.status).toBe('running');
    late.ws.resume();
    await stopping;
  });
});

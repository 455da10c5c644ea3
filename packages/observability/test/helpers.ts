import { createServer, type IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import {
  AuthError,
  type Authenticator,
  type GatewayOptions,
  type Identity,
  silentLogger,
  WebSocketGateway,
} from '@dotmac-ws/core';
import { onCleanup, waitUntil } from '@dotmac-ws/test-utils';

/** A started gateway on a free port, stopped after the test. */
export interface TestGateway {
  gw: WebSocketGateway;
  /** `ws://127.0.0.1:{port}/ws` */
  url: string;
  /** `http://127.0.0.1:{port}` */
  base: string;
}

export async function startTestGateway(
  options: GatewayOptions = {},
  before: (gw: WebSocketGateway) => void = () => undefined,
): Promise<TestGateway> {
  const gw = new WebSocketGateway({ port: 0, host: '127.0.0.1', logger: silentLogger, ...options });
  before(gw);
  await gw.start();
  onCleanup(() => gw.stop());
  const port = gw.address()!.port;
  return { gw, url: `ws://127.0.0.1:${port}/ws`, base: `http://127.0.0.1:${port}` };
}

/** Accepts `tok-{user}` or `tok-{user}-{tenant}`; anything else is refused as `invalid`. */
export const testAuthenticator: Authenticator = {
  async authenticate(token: string): Promise<Identity> {
    const m = /^tok-([a-z0-9]+)(?:-([a-z0-9]+))?$/.exec(token);
    if (m === null) throw new AuthError('invalid', `the token ${token} is not valid`);
    return { userId: m[1]!, tenantId: m[2] ?? null, roles: [], permissions: [] };
  },
};

/** One sample of a Prometheus text exposition: `name{labels} value`. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_]\w*=")/)
      .filter((s) => s !== '')
      .sort()
      .join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

/** Every label set of `name` in a Prometheus text exposition. */
export function labelSets(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .map((l) => l.slice(name.length, l.lastIndexOf(' ')));
}

/** GETs `url` and resolves with the status, content type and body. */
export async function get(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/** A span as the test OTLP receiver flattens it. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

function attrs(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list ?? []) {
    const v = a.value;
    out[a.key] =
      v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
  }
  return out;
}

/**
 * A real OTLP/HTTP receiver: `POST /v1/traces` with the JSON encoding (what
 * `@opentelemetry/exporter-trace-otlp-http` sends), answered 200 `{}`.
 */
export async function startOtlpReceiver() {
  const bodies: string[] = [];
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      bodies.push(body);
      contentTypes.push(String(req.headers['content-type']));
      const parsed = JSON.parse(body) as {
        resourceSpans: {
          resource: { attributes: OtlpAttribute[] };
          scopeSpans: {
            spans: (Omit<ReceivedSpan, 'service' | 'attributes' | 'links'> & {
              attributes: OtlpAttribute[];
              links?: { traceId: string; spanId: string }[];
            })[];
          }[];
        }[];
      };
      for (const rs of parsed.resourceSpans) {
        const service = String(attrs(rs.resource.attributes)['service.name']);
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              attributes: attrs(s.attributes),
              links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    bodies,
    contentTypes,
    /** Waits until a span matching `pred` has arrived and returns it. */
    async span(pred: (s: ReceivedSpan) => boolean, what: string, ms = 8000): Promise<ReceivedSpan> {
      await waitUntil(() => spans.some(pred), ms, what);
      return spans.find(pred)!;
    },
  };
}

/** A destination stream that keeps the lines a logger writes. */
export function lineSink(): { stream: Writable; lines: string[]; records: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  let rest = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      rest += chunk.toString('utf8');
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts.filter((p) => p !== ''));
      done();
    },
  });
  return { stream, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

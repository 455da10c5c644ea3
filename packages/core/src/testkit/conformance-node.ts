import { onCleanup, type RecordedFrame, TestClient } from '@dotmac-ws/test-utils';
import type { Backend } from '../backend';
import { WebSocketGateway } from '../gateway';
import { silentLogger } from '../logger';

/** How often conformance nodes announce themselves (a silent node is dropped after three). */
export const CONFORMANCE_ANNOUNCE_MS = 200;

/** The API key of every conformance node's HTTP API. */
export const CONFORMANCE_API_KEY = 'conformance-key';

/** Header through which a conformance client names the identity its session gets. */
const IDENTITY_HEADER = 'x-conformance-identity';

/** Who a conformance client is: set server-side by the nodes' connection middleware. */
export interface ConformanceIdentity {
  userId: string;
  roles?: string[];
  permissions?: string[];
}

/** How a conformance client connects. */
export interface ConnectOptions {
  /** Connect through `/ws/tenant/{tenant}`. */
  tenant?: string;
  /** The identity the session gets at the handshake. */
  identity?: ConformanceIdentity;
}

/**
 * One gateway of a conformance cluster: a real gateway on port 0 over its own backend, with a
 * connection middleware that applies the identity a test client asks for (a stand-in for an
 * authenticator, so that user, role and permission broadcasts can be exercised without tokens).
 * @internal
 */
export class ConformanceNode {
  readonly gateway: WebSocketGateway;
  readonly backend: Backend;

  private constructor(gateway: WebSocketGateway, backend: Backend) {
    this.gateway = gateway;
    this.backend = backend;
  }

  /** Starts a gateway named `nodeId` over `backend`; it is stopped after the test. */
  static async start(nodeId: string, backend: Backend): Promise<ConformanceNode> {
    const gateway = new WebSocketGateway({
      port: 0,
      host: '127.0.0.1',
      nodeId,
      backend,
      logger: silentLogger,
      clientPublish: true,
      tenantIsolation: true,
      drainTimeoutMs: 0,
      apiKey: CONFORMANCE_API_KEY,
      announceIntervalMs: CONFORMANCE_ANNOUNCE_MS,
      clusterQueryTimeoutMs: 2000,
    });
    gateway.use({
      connection: async (ctx, next) => {
        const raw = ctx.request.headers[IDENTITY_HEADER];
        if (typeof raw === 'string') {
          const id = JSON.parse(raw) as ConformanceIdentity;
          ctx.identity = {
            userId: id.userId,
            tenantId: ctx.tenantId,
            roles: id.roles ?? [],
            permissions: id.permissions ?? [],
          };
        }
        await next();
      },
    });
    await gateway.start();
    onCleanup(() => gateway.stop());
    return new ConformanceNode(gateway, backend);
  }

  /** The node's base URL, `http://127.0.0.1:{port}`. */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.gateway.address()!.port}`;
  }

  /** `POST /api/publish` with `body` (and the API key): the status and the JSON answer. */
  async publishOverHttp(body: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.httpUrl}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CONFORMANCE_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  /** Opens a client (closed after the test) and waits for its `welcome`. */
  async connect(options: ConnectOptions = {}): Promise<TestClient> {
    const path = options.tenant === undefined ? '/ws' : `/ws/tenant/${options.tenant}`;
    const headers: Record<string, string> = {};
    if (options.identity !== undefined) headers[IDENTITY_HEADER] = JSON.stringify(options.identity);
    const client = await TestClient.open(`ws://127.0.0.1:${this.gateway.address()!.port}${path}`, {
      headers,
    });
    await client.welcome();
    return client;
  }
}

/** Subscribes `client` to `channel` and fails unless the reply is an `ack`. */
export async function subscribe(client: TestClient, channel: string): Promise<void> {
  const reply = await client.request({ type: 'subscribe', channel });
  if (reply.type !== 'ack') throw new Error(`subscribe ${channel} was refused: ${JSON.stringify(reply)}`);
}

/** Unsubscribes `client` from `channel` and fails unless the reply is an `ack`. */
export async function unsubscribe(client: TestClient, channel: string): Promise<void> {
  const reply = await client.request({ type: 'unsubscribe', channel });
  if (reply.type !== 'ack') throw new Error(`unsubscribe ${channel} was refused: ${JSON.stringify(reply)}`);
}

/** The frames of `type` a client has received. */
export function framesOf(client: TestClient, type: string): RecordedFrame[] {
  return client.frames.filter((f) => f.type === type);
}

/** The `data.seq` values of the frames of `type`, in arrival order. */
export function seqsOf(client: TestClient, type: string, from?: string): number[] {
  return framesOf(client, type)
    .map((f) => f.data as { seq?: unknown; from?: unknown } | null)
    .filter((d) => d !== null && typeof d.seq === 'number' && (from === undefined || d.from === from))
    .map((d) => d!.seq as number);
}

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type GatewayOptions, type Logger, silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { onCleanup, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { type AppBackend, type AppBackendOptions, createAppBackend, verifyRequest } from '../src';

/** The secret the tests share with their app. */
export const SECRET = 'test-secret-0123456789abcdef';

/** One request the test app received. */
export interface AppRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body. */
  raw: string;
  /** The parsed body. */
  body: Record<string, unknown>;
  /** Whether the signature checked out with {@link SECRET}. */
  verified: boolean;
}

/** What the app answers: a JSON body (status 200), or the details. */
export type AppAnswer = { status?: number; body?: unknown; delayMs?: number; raw?: string } | undefined;

/**
 * A small application the tests start: records every request (verifying its signature) and
 * answers with what `handler` says, after `delayMs` when set. Tracks how many requests it
 * holds at once.
 */
export class TestApp {
  readonly requests: AppRequest[] = [];
  handler: (req: AppRequest) => AppAnswer | Promise<AppAnswer> = () => ({ body: { result: {} } });
  inFlight = 0;
  maxInFlight = 0;
  readonly #server: Server;
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(handler?: TestApp['handler'], port = 0): Promise<TestApp> {
    const server = createServer();
    const app = new TestApp(server);
    if (handler !== undefined) app.handler = handler;
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const request: AppRequest = {
          path: req.url ?? '/',
          headers: req.headers,
          raw,
          body: JSON.parse(raw) as Record<string, unknown>,
          verified: verifyRequest({
            secret: SECRET,
            timestamp: req.headers['x-dotmac-timestamp'],
            signature: req.headers['x-dotmac-signature'],
            body: raw,
          }),
        };
        app.requests.push(request);
        app.inFlight++;
        app.maxInFlight = Math.max(app.maxInFlight, app.inFlight);
        void Promise.resolve(app.handler(request)).then((answer) => {
          const send = () => {
            app.inFlight--;
            if (res.destroyed) return;
            const text = answer?.raw ?? JSON.stringify(answer?.body ?? { result: {} });
            res.writeHead(answer?.status ?? 200, { 'content-type': 'application/json' });
            res.end(text);
          };
          if (answer?.delayMs === undefined) send();
          else {
            const t = setTimeout(() => {
              app.#timers.delete(t);
              send();
            }, answer.delayMs);
            app.#timers.add(t);
          }
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    onCleanup(() => app.close());
    return app;
  }

  /** The URL of `path` on this app. */
  url(path: string): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}${path}`;
  }

  /** The requests to `path`. */
  to(path: string): AppRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** Waits until `count` requests reached `path`. */
  async waitRequests(path: string, count: number, ms = 3000): Promise<AppRequest[]> {
    await waitUntil(() => this.to(path).length >= count, ms, `${count} requests to ${path}`);
    return this.to(path);
  }

  /** Stops answering and closes every connection. */
  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A gateway on port 0 with an app backend attached, both stopped after the test. */
export interface BackedGateway {
  gateway: WebSocketGateway;
  appBackend: AppBackend;
  url: string;
}

/** Starts a gateway with `createAppBackend(options)` attached. */
export async function startBacked(
  options: AppBackendOptions,
  gatewayOptions: GatewayOptions = {},
  logger: Logger = silentLogger,
): Promise<BackedGateway> {
  const appBackend = createAppBackend({ logger, ...options });
  const gateway = new WebSocketGateway({
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    clientPublish: true,
    refreshIdentity: appBackend.refreshIdentity,
    ...gatewayOptions,
  });
  appBackend.attach(gateway);
  await gateway.start();
  onCleanup(async () => {
    await gateway.stop();
    await appBackend.stop();
  });
  return { gateway, appBackend, url: `ws://127.0.0.1:${gateway.address()!.port}/ws` };
}

/** Opens a client and waits for its `welcome`. */
export async function connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
  const client = await TestClient.open(url, { headers });
  await client.welcome();
  return client;
}

import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type GatewayOptions, type LogFields, type Logger, WebSocketGateway } from '@dotmac-ws/core';
import { onCleanup } from '@dotmac-ws/test-utils';
import jwt from 'jsonwebtoken';

/** A 32-byte HS256 secret (the RFC 7518 minimum). */
export const SECRET = 'test-secret-0123456789-abcdefghij';
/** Another secret of the same length. */
export const OTHER_SECRET = 'other-secret-0123456789-abcdefgh';

/** An RSA key pair with PEM texts. */
export interface PemPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicPem: string;
  privatePem: string;
}

/** Generates an RSA (2048) or EC (P-256) key pair. */
export function keyPair(type: 'rsa' | 'ec' = 'rsa'): PemPair {
  const { privateKey, publicKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey,
    publicKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Seconds since the epoch. */
export const nowSec = (): number => Math.floor(Date.now() / 1000);

/** Signs `claims` with HS256 and {@link SECRET} unless told otherwise; `exp` in 5 minutes by default. */
export function sign(
  claims: Record<string, unknown>,
  key: string | KeyObject = SECRET,
  options: jwt.SignOptions = {},
): string {
  const body: Record<string, unknown> = { exp: nowSec() + 300, ...claims };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return jwt.sign(body, key, {
    algorithm: typeof key === 'string' ? 'HS256' : 'RS256',
    ...options,
  });
}

/** A compact JWT of the given header and payload with the given signature text (no signing). */
export function rawToken(header: object, payload: object, signature = ''): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part(header)}.${part(payload)}.${signature}`;
}

/** A token of any header and payload (even ones jsonwebtoken would not sign), HMAC-SHA256 signed with `secret`. */
export function hmacToken(header: object, payload: object, secret: string = SECRET): string {
  const unsigned = rawToken(header, payload).slice(0, -1);
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/** One log line as a {@link RecordingLogger} keeps it. */
export interface LogLine {
  level: string;
  message: string;
  fields: LogFields;
}

/** A logger that keeps every line, for checking what reached the log. */
export function recordingLogger(): Logger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const at = (level: string) => (fields: LogFields, message: string) =>
    lines.push({ level, message, fields });
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => JSON.stringify(lines),
  };
}

/** Starts a gateway on 127.0.0.1, port 0, stopped after the test. */
export async function startGateway(
  options: GatewayOptions,
): Promise<{ gateway: WebSocketGateway; url: string; logger: ReturnType<typeof recordingLogger> }> {
  const logger = recordingLogger();
  const gateway = await new WebSocketGateway({ port: 0, host: '127.0.0.1', logger, ...options }).start();
  onCleanup(() => gateway.stop());
  return { gateway, url: `ws://127.0.0.1:${gateway.address()!.port}/ws`, logger };
}

/** The `authentication failed` lines' reasons and details. */
export function authFailures(
  logger: ReturnType<typeof recordingLogger>,
): { reason: string; detail: string }[] {
  return logger.lines
    .filter((l) => l.message === 'authentication failed')
    .map((l) => ({ reason: String(l.fields.reason), detail: String(l.fields.detail) }));
}

/** A JWKS endpoint on 127.0.0.1 that a test can change and count requests on. */
export interface JwksServer {
  url: string;
  /** The keys served now (public JWKs). */
  keys: Record<string, unknown>[];
  /** How many times the JWKS was fetched. */
  fetches: number;
  /** Answer with this HTTP status instead (null: serve the keys). */
  failWith: number | null;
  stop(): Promise<void>;
}

/** A public JWK of `key` with `kid` (and `alg`, unless null). */
export function jwk(key: KeyObject, kid: string, alg: string | null = 'RS256'): Record<string, unknown> {
  return { ...key.export({ format: 'jwk' }), kid, use: 'sig', ...(alg === null ? {} : { alg }) };
}

/** Starts a {@link JwksServer}, stopped after the test. */
export async function startJwksServer(keys: Record<string, unknown>[] = []): Promise<JwksServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.fetches++;
    if (state.failWith !== null) {
      res.writeHead(state.failWith).end();
      return;
    }
    const body = JSON.stringify({ keys: state.keys });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const state: JwksServer = {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    keys,
    fetches: 0,
    failWith: null,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  onCleanup(() => state.stop());
  return state;
}

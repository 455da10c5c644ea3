import http from 'node:http';
import https from 'node:https';
import { VERSION } from './version';

/** What a POST came back with. @internal */
export interface PostAnswer {
  /** The HTTP status. */
  status: number;
  /** The body as text (at most `maxBytes`). */
  body: string;
}

/** Why a POST brought no answer. @internal */
export class PostFailure extends Error {
  override readonly name = 'PostFailure';
  constructor(
    /** `timeout`: no full answer in time; `unreachable`: no connection or it broke; `too_large`: the answer exceeded the limit. */
    readonly reason: 'timeout' | 'unreachable' | 'too_large',
    message: string,
  ) {
    super(message);
  }
}

/** Options of {@link postJson}. @internal */
export interface PostOptions {
  /** The whole exchange (connect, send, read the answer) must end within this many ms. */
  timeoutMs: number;
  /** Answers larger than this are refused (`too_large`). */
  maxBytes: number;
  /** Extra request headers (signature, …). */
  headers: Record<string, string>;
  /** The connection pool to use. */
  agents: HttpAgents;
}

/** Keep-alive agents for http: and https: URLs, one pair per client. @internal */
export interface HttpAgents {
  http: http.Agent;
  https: https.Agent;
}

/** Keep-alive agents holding at most `maxSockets` connections per origin. @internal */
export function createAgents(maxSockets: number): HttpAgents {
  return {
    http: new http.Agent({ keepAlive: true, maxSockets }),
    https: new https.Agent({ keepAlive: true, maxSockets }),
  };
}

/**
 * POSTs a JSON text and reads the answer, within one deadline. Never hangs: the request is
 * destroyed at the deadline. Rejects only with a {@link PostFailure}.
 */
export function postJson(url: URL, body: string, o: PostOptions): Promise<PostAnswer> {
  return new Promise<PostAnswer>((resolve, reject) => {
    const secure = url.protocol === 'https:';
    let settled = false;
    const finish = (error: PostFailure | null, answer?: PostAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === null) resolve(answer as PostAnswer);
      else reject(error);
    };
    const request = (secure ? https : http).request(url, {
      method: 'POST',
      agent: secure ? o.agents.https : o.agents.http,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': `dotmac-ws/${VERSION}`,
        ...o.headers,
      },
    });
    const timer = setTimeout(() => {
      finish(new PostFailure('timeout', `no answer within ${o.timeoutMs} ms`));
      request.destroy();
    }, o.timeoutMs);
    request.on('error', (error) => finish(new PostFailure('unreachable', error.message)));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > o.maxBytes) {
          finish(new PostFailure('too_large', `the answer is larger than ${o.maxBytes} bytes`));
          request.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () =>
        finish(null, { status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', (error) => finish(new PostFailure('unreachable', error.message)));
      response.on('aborted', () => finish(new PostFailure('unreachable', 'the answer was cut off')));
    });
    request.end(body);
  });
}

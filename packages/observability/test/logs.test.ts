import { MemoryBackend, ProtocolError } from '@dotmac-ws/core';
import { TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import {
  createDefaultHooks,
  createDotmacObservabilityHooks,
  createLogger,
  REDACTED,
  scrubSecrets,
} from '../src/index';
import { lineSink, startTestGateway, testAuthenticator } from './helpers';

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInRlbmFudF9pZCI6ImFjbWUifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';

describe('createLogger', () => {
  it('writes JSON lines with an ISO time, the level name and msg', () => {
    const sink = lineSink();
    const log = createLogger({ level: 'info', base: { service: 'gw' }, destination: sink.stream });
    log.debug({ a: 1 }, 'hidden');
    log.info({ a: 1 }, 'shown');
    log.error({ error: new Error('boom') }, 'failed');
    const [info, error] = sink.records();
    expect(sink.lines).toHaveLength(2);
    expect(info).toMatchObject({ level: 'info', msg: 'shown', a: 1, service: 'gw' });
    expect(Number.isNaN(Date.parse(String(info?.time)))).toBe(false);
    expect(error).toMatchObject({ level: 'error', msg: 'failed', error: { type: 'Error', message: 'boom' } });
    expect(String((error?.error as { stack?: string } | undefined)?.stack)).toContain('logs.test.ts');
  });

  it('redacts secret fields at any of three levels, and tokens inside text', () => {
    const sink = lineSink();
    const log = createLogger({ destination: sink.stream, redact: ['custom.pin'] });
    log.info(
      {
        token: 'top-secret-1',
        headers: { authorization: 'Bearer top-secret-2', 'set-cookie': 'sid=top-secret-3', host: 'h' },
        req: { headers: { cookie: 'top-secret-4' } },
        data: { password: 'top-secret-5', api_key: 'top-secret-6', note: 'keep me' },
        custom: { pin: 'top-secret-7' },
        detail: `the token ${JWT} was refused`,
        url: '/ws?tenant=acme&token=top-secret-8',
        error: new Error(`jwt ${JWT} malformed`),
      },
      `auth with Bearer top-secret-9 and ${JWT}`,
    );
    const line = sink.lines[0]!;
    for (let i = 1; i <= 9; i++) expect(line).not.toContain(`top-secret-${i}`);
    expect(line).not.toContain(JWT.slice(0, 40));
    const r = sink.records()[0]!;
    expect(r.token).toBe(REDACTED);
    expect(r.headers).toEqual({ authorization: REDACTED, 'set-cookie': REDACTED, host: 'h' });
    expect(r.data).toEqual({ password: REDACTED, api_key: REDACTED, note: 'keep me' });
    expect(r.custom).toEqual({ pin: REDACTED });
    expect(r.detail).toBe(`the token ${REDACTED} was refused`);
    expect(r.url).toBe(`/ws?tenant=acme&token=${REDACTED}`);
    expect(r.msg).toBe(`auth with Bearer ${REDACTED} and ${REDACTED}`);
    expect((r.error as { message: string }).message).toBe(`jwt ${REDACTED} malformed`);
  });

  it('scrubSecrets leaves text without secrets alone', () => {
    expect(scrubSecrets('connection closed with 1000 (normal)')).toBe('connection closed with 1000 (normal)');
  });

  it('never logs a token the gateway refused', async () => {
    const sink = lineSink();
    const logger = createLogger({ level: 'debug', destination: sink.stream });
    const { url } = await startTestGateway({
      logger,
      authenticator: {
        async authenticate(token) {
          // An authenticator that (badly) puts the token in its error.
          throw new Error(`cannot verify ${token}`);
        },
      },
    });
    const refused = await TestClient.refused(`${url}?token=${JWT}`);
    expect(refused.status).toBe(401);
    const c = await TestClient.open(url);
    await c.welcome();
    await c.request({ type: 'auth', data: { token: JWT } });
    await waitUntil(() => sink.lines.filter((l) => l.includes('authentication failed')).length === 2);
    expect(sink.lines.join('\n')).not.toContain(JWT.slice(20));
    expect(sink.records().find((r) => r.msg === 'authentication failed')).toMatchObject({
      detail: `cannot verify ${REDACTED}`,
    });
  });
});

describe('event logs of the observability hooks', () => {
  it('logs connections, disconnects with code and reason, and one line per run of rate limiting', async () => {
    const sink = lineSink();
    const logger = createLogger({ destination: sink.stream });
    const obs = createDotmacObservabilityHooks('logs', { metrics: false, tracing: false, logger });
    let limited = false;
    const { url, gw } = await startTestGateway({ authenticator: testAuthenticator }, (g) => {
      g.use({
        message: async (_ctx, next) => {
          if (limited) throw new ProtocolError('rate_limited', 'slow down', { retryAfterMs: 5 });
          await next();
        },
      });
      obs.instrument(g);
    });
    const c = await TestClient.open(`${url}/tenant/acme?token=tok-alice-acme`);
    await c.welcome();
    limited = true;
    for (let i = 0; i < 4; i++) await c.request({ type: 'ping' });
    limited = false;
    await c.request({ type: 'ping' });
    limited = true;
    await c.request({ type: 'ping' });
    c.ws.close(4000, 'bye now');
    await waitUntil(() => gw.getStats().sessions.total === 0);
    await waitUntil(() => sink.records().some((r) => r.msg === 'connection closed'));
    const records = sink.records();
    const opened = records.find((r) => r.msg === 'connection opened');
    expect(opened).toMatchObject({ level: 'info', tenant_id: 'acme', user_id: 'alice' });
    expect(records.filter((r) => r.msg === 'messages rate limited')).toHaveLength(2);
    expect(records.find((r) => r.msg === 'connection closed')).toMatchObject({
      level: 'info',
      code: 4000,
      reason: 'bye now',
      user_id: 'alice',
      session_id: opened?.session_id,
    });
    expect(sink.lines.join('\n')).not.toContain('tok-alice');
  });

  it('logs a backend going down and coming back', async () => {
    const sink = lineSink();
    const logger = createLogger({ destination: sink.stream });
    const backend = new MemoryBackend();
    let up = true;
    let checks = 0;
    backend.health = async () => {
      checks++;
      return up ? { status: 'healthy' } : { status: 'unhealthy', error: 'connection lost' };
    };
    const obs = createDotmacObservabilityHooks('logs', {
      metrics: false,
      tracing: false,
      logger,
      backendCheckMs: 20,
    });
    await startTestGateway({ backend }, (g) => obs.instrument(g));
    // The watch checks only a running gateway: let it see the healthy backend first.
    const before = checks;
    await waitUntil(() => checks > before, 3000, 'a first check');
    up = false;
    await waitUntil(() => sink.records().some((r) => r.msg === 'backend state changed'), 3000, 'down');
    up = true;
    await waitUntil(
      () => sink.records().filter((r) => r.msg === 'backend state changed').length === 2,
      3000,
      'up',
    );
    const changes = sink.records().filter((r) => r.msg === 'backend state changed');
    expect(changes).toMatchObject([
      { level: 'warn', backend: 'memory', status: 'unhealthy', was: 'healthy', error: 'connection lost' },
      { level: 'info', backend: 'memory', status: 'healthy', was: 'unhealthy' },
    ]);
  });
});

describe('createDefaultHooks', () => {
  it('calls every handler; one that throws or rejects is logged and the session goes on', async () => {
    const sink = lineSink();
    const logger = createLogger({ destination: sink.stream });
    const seen: string[] = [];
    const hooks = createDefaultHooks({ logger })
      .addConnectionHandler(() => {
        throw new Error('connection handler broke');
      })
      .addConnectionHandler((s) => {
        seen.push(`open ${s.tenantId}`);
      })
      .addMessageHandler(async (_s, type) => {
        seen.push(`msg ${type}`);
        throw new Error('message handler rejected');
      })
      .addDisconnectHandler((_s, code, reason) => {
        seen.push(`close ${code} ${reason}`);
      })
      .addErrorHandler((_e, context) => {
        seen.push(`error ${context}`);
        throw new Error('error handler broke too');
      });
    const { url, gw } = await startTestGateway({}, (g) => {
      g.setObservabilityHooks(hooks);
      g.addMessageHandler('explode', () => {
        throw new Error('handler bug');
      });
    });
    const c = await TestClient.open(`${url}/tenant/t1`);
    await c.welcome();
    expect((await c.request({ type: 'ping', data: 1 })).type).toBe('pong');
    expect((await c.request({ type: 'explode' })).data).toMatchObject({ code: 'internal_error' });
    expect((await c.request({ type: 'ping', data: 2 })).data).toBe(2);
    c.ws.close(1000);
    await waitUntil(() => gw.getStats().sessions.total === 0);
    expect(seen).toEqual([
      'open t1',
      'msg ping',
      'msg explode',
      'error handler of "explode"',
      'msg ping',
      'close 1000 ',
    ]);
    await waitUntil(() => sink.records().filter((r) => r.level === 'error').length === 5);
    const failures = sink.records().map((r) => `${r.handler}: ${(r.error as { message: string }).message}`);
    expect(failures.sort()).toEqual([
      'connection: connection handler broke',
      'error: error handler broke too',
      'message: message handler rejected',
      'message: message handler rejected',
      'message: message handler rejected',
    ]);
  });

  it('refuses a handler that is not a function', () => {
    expect(() => createDefaultHooks().addErrorHandler('x' as never)).toThrow(
      new TypeError('the error handler must be a function'),
    );
  });
});

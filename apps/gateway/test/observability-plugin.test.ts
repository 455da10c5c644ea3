import { createServer } from 'node:http';
import { ConfigError } from '@dotmac-ws/core';
import { onCleanup, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { SECRET, sign } from '../../../packages/auth-jwt/test/helpers';
import { createGatewayFromEnv } from '../src/index';

async function started(env: Record<string, string>) {
  const { gateway } = createGatewayFromEnv({
    WS_HOST: '127.0.0.1',
    WS_PORT: '0',
    LOG_LEVEL: 'silent',
    ...env,
  });
  await gateway.start();
  onCleanup(() => gateway.stop());
  const port = gateway.address()!.port;
  return { gateway, url: `ws://127.0.0.1:${port}/ws`, base: `http://127.0.0.1:${port}` };
}

/** An OTLP/HTTP receiver that keeps the span names of what it is sent (JSON encoding). */
async function spanNames() {
  const names: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      for (const m of body.matchAll(/"name":"(dotmac_ws\.[^"]+)"/g)) names.push(m[1]!);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(() => new Promise<void>((r) => server.close(() => r())));
  return { names, endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

describe('the observability plugin', () => {
  it('serves the full metric set, with METRICS_TENANT_LABEL_LIMIT folding tenants into other', async () => {
    const { url, base } = await started({ METRICS_TENANT_LABEL_LIMIT: '1', JWT_SECRET_KEY: SECRET });
    // Only authenticated sessions' tenants take a label; an anonymous one counts as unauthenticated.
    for (const tenant of ['acme', 'beta', 'gamma']) {
      const token = sign({ sub: `u-${tenant}`, tenant_id: tenant });
      await (await TestClient.open(`${url}/tenant/${tenant}?token=${token}`)).welcome();
    }
    await (await TestClient.open(`${url}/tenant/zeta`)).welcome();
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('dotmac_ws_connections{tenant="acme"} 1');
    expect(text).toContain('dotmac_ws_connections{tenant="other"} 2');
    expect(text).toContain('dotmac_ws_connections{tenant="unauthenticated"} 1');
    expect(text).not.toContain('tenant="zeta"');
    expect(text).toContain('# TYPE dotmac_ws_broadcast_delivery_seconds histogram');
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('with METRICS_ENABLED=false turns /metrics off and keeps tracing, flushed at stop', async () => {
    const receiver = await spanNames();
    const { gateway, url, base } = await started({
      METRICS_ENABLED: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: 'plugin-test',
    });
    expect(await (await fetch(`${base}/metrics`)).text()).toBe('# metrics are off (METRICS_ENABLED=false)\n');
    const c = await TestClient.open(url);
    await c.welcome();
    expect((await c.request({ type: 'echo', data: 1 })).data).toBe(1);
    c.ws.close(1000);
    await waitUntil(() => gateway.getStats().sessions.total === 0);
    await gateway.stop(); // drains, then the SDK's batch is flushed before stop() resolves
    expect(receiver.names.sort()).toEqual(['dotmac_ws.connection', 'dotmac_ws.message echo']);
  });

  it('keeps tracing off without an endpoint, and off with OTEL_SDK_DISABLED', async () => {
    const receiver = await spanNames();
    const { gateway, url } = await started({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SDK_DISABLED: 'true',
    });
    const c = await TestClient.open(url);
    await c.request({ type: 'ping' });
    await gateway.stop();
    expect(receiver.names).toEqual([]);
  });

  it('reports every bad observability setting in one message', () => {
    let error: unknown;
    try {
      createGatewayFromEnv({
        METRICS_TENANT_LABEL_LIMIT: 'lots',
        OTEL_TRACES_SAMPLER: 'sometimes',
        OTEL_TRACES_SAMPLER_ARG: '2',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "METRICS_TENANT_LABEL_LIMIT is set as 'lots' when it must be an integer from 0 to 100000",
      "OTEL_EXPORTER_OTLP_ENDPOINT is set as 'ftp://collector' when it must be an http(s) URL",
      "OTEL_TRACES_SAMPLER is set as 'sometimes' when it must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio",
      "OTEL_TRACES_SAMPLER_ARG is set as '2' when it must be a ratio from 0 to 1",
    ]);
  });

  it('refuses OTEL_ENABLED=true together with OTEL_SDK_DISABLED=true, and malformed headers', () => {
    expect(() =>
      createGatewayFromEnv({
        OTEL_ENABLED: 'true',
        OTEL_SDK_DISABLED: 'true',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-key',
      }),
    ).toThrow(
      new ConfigError(
        [
          "OTEL_EXPORTER_OTLP_HEADERS has 'x-key' when each entry must be key=value",
          'OTEL_ENABLED is true but OTEL_SDK_DISABLED is true too: set one of them',
        ],
        'environment',
      ),
    );
  });
});

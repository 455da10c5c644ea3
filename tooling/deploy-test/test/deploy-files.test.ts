import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envSchema, PLUGINS } from '@dotmac-ws/gateway';
import { describe, expect, it } from 'vitest';
import { composeFile, gatewayServices, ROOT, repoFile } from './deploy-files';

const SCHEMA = new Map(envSchema(PLUGINS).map((v) => [v.name, v]));
const schemaDefault = (name: string) => Number(SCHEMA.get(name)?.default);

/** Seconds of an nginx or Compose duration such as `120s`, `2m` or `30s`. */
function seconds(value: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new Error(`not a duration: ${value}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

/** deploy/nginx.conf without its comments. */
const nginxConf = () => repoFile('deploy/nginx.conf').replace(/#.*$/gm, '');

/** The text of the nginx block that starts with `head` (e.g. `location /ws`), braces balanced. */
function nginxBlock(conf: string, head: string): string {
  const start = conf.indexOf(`${head} {`);
  if (start < 0) throw new Error(`deploy/nginx.conf has no block "${head}"`);
  let depth = 0;
  for (let i = conf.indexOf('{', start); i < conf.length; i++) {
    if (conf[i] === '{') depth++;
    if (conf[i] === '}' && --depth === 0) return conf.slice(start, i + 1);
  }
  throw new Error(`unbalanced block "${head}"`);
}

describe('deploy/docker-compose.yml', () => {
  const { services } = composeFile();
  const gateways = gatewayServices();

  it('runs two gateways on Redis, whose every variable is one the gateway reads', () => {
    expect(gateways.map(([name]) => name)).toEqual(['gateway-1', 'gateway-2']);
    for (const [name, service] of gateways) {
      const env = service.environment ?? {};
      expect(
        Object.keys(env).filter((k) => !SCHEMA.has(k)),
        name,
      ).toEqual([]);
      expect(env.BACKEND, name).toBe('redis');
      expect(env.REDIS_URL, name).toBe('redis://redis:6379');
      expect(env.NODE_ID, name).toBe(name);
      expect(env.TRUST_PROXY, name).toBe('loopback, uniquelocal');
      // The stop timeout covers the drain.
      expect(seconds(service.stop_grace_period ?? '10s') * 1000, name).toBeGreaterThan(
        Number(env.DRAIN_TIMEOUT_MS ?? schemaDefault('DRAIN_TIMEOUT_MS')),
      );
    }
  });

  it('keeps Redis with appendonly and puts nginx, on the shipped config, in front', () => {
    const redis = services.redis;
    expect(redis?.command?.join(' ')).toContain('--appendonly yes');
    const nginx = services.nginx;
    expect(nginx?.volumes).toContain('./nginx.conf:/etc/nginx/nginx.conf:ro');
    expect(nginx?.ports).toEqual(['8080:8080']);
    expect(Object.keys(nginx?.depends_on ?? {}).sort()).toEqual(gateways.map(([name]) => name));
  });

  it('names in nginx.conf exactly the gateways it runs, on their WS_PORT', () => {
    const conf = nginxConf();
    const servers = [...nginxBlock(conf, 'upstream dotmac_gateways').matchAll(/^\s*server ([\w-]+):(\d+)/gm)];
    expect(servers.map((m) => m[1])).toEqual(gateways.map(([name]) => name));
    for (const [, service] of gateways) {
      expect(servers.map((m) => m[2])).toEqual([service.environment?.WS_PORT, service.environment?.WS_PORT]);
    }
    expect(conf).toMatch(/^\s*listen 8080;/m);
  });
});

describe('deploy/nginx.conf', () => {
  const conf = nginxConf();
  const ws = nginxBlock(conf, 'location /ws');

  it('keeps an idle WebSocket open longer than two heartbeats of the gateways', () => {
    const heartbeats = gatewayServices().map(([, s]) =>
      Number(s.environment?.HEARTBEAT_MS ?? schemaDefault('HEARTBEAT_MS')),
    );
    for (const directive of ['proxy_read_timeout', 'proxy_send_timeout']) {
      const m = new RegExp(`${directive} (\\w+);`).exec(ws);
      expect(m, directive).not.toBeNull();
      expect(seconds(m![1]!) * 1000, directive).toBeGreaterThan(2 * Math.max(...heartbeats));
    }
  });

  it('sets the upgrade headers where no location overrides them', () => {
    const server = nginxBlock(conf, 'server');
    expect(server).toMatch(/proxy_http_version 1\.1;/);
    expect(server).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(server).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    // A location with its own proxy_set_header would inherit none of the server's.
    for (const location of server.matchAll(/location [^{]+\{[^}]*\}/g))
      expect(location[0], location[0]).not.toContain('proxy_set_header');
  });

  it('allows the body size the HTTP publish API accepts', () => {
    expect(conf).toMatch(/client_max_body_size 1m;/);
  });
});

describe('apps/gateway/Dockerfile', () => {
  const dockerfile = repoFile('apps/gateway/Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages.at(-1) ?? '';

  it('is multi-stage and runs the gateway bin as a non-root user, with a health check on /ready', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).not.toMatch(/^USER root$/m);
    const gatewayPkg = JSON.parse(readFileSync(join(ROOT, 'apps/gateway/package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(runtime).toContain(`CMD ["node", "${gatewayPkg.bin['dotmac-gateway']?.replace(/^\.\//, '')}"]`);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*\/ready/m);
    const port = /WS_PORT=(\d+)/.exec(runtime)?.[1];
    expect(runtime).toMatch(new RegExp(`^EXPOSE ${port}$`, 'm'));
  });

  it('sets only variables the gateway reads (and NODE_ENV)', () => {
    const names = [...runtime.matchAll(/^ENV ((?:.|\\\n)+)$/gm)].flatMap((m) =>
      [...m[1]!.matchAll(/(\w+)=/g)].map((n) => n[1]!),
    );
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => n !== 'NODE_ENV' && !SCHEMA.has(n))).toEqual([]);
  });
});

describe('docs/deployment.md', () => {
  const doc = repoFile('docs/deployment.md');

  it('names only variables the gateway reads, and points at the generated reference', () => {
    const named = [...doc.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(10);
    expect([...new Set(named)].filter((n) => !SCHEMA.has(n))).toEqual([]);
    expect(doc).toContain('(configuration.md#environment-of-the-reference-gateway)');
    expect(repoFile('docs/configuration.md')).toMatch(/^## Environment of the reference gateway$/m);
  });
});

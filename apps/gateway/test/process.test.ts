import { spawn } from 'node:child_process';
import { freePort, onCleanup, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { BIN, runBin as run } from './bin-process';

async function ready(port: number, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the gateway did not become ready');
}

describe('dotmac-gateway (the bin)', () => {
  it('serves the protocol, and SIGTERM drains the sessions (1001) and exits 0', async () => {
    const port = await freePort();
    const g = run({ WS_PORT: String(port) });
    await ready(port);
    const c = await TestClient.open(`ws://127.0.0.1:${port}/ws`);
    await c.welcome();
    expect(await c.request({ type: 'echo', id: 1, data: { hi: 1 } })).toEqual({
      type: 'ack',
      id: 1,
      data: { hi: 1 },
    });
    await c.request({ type: 'subscribe', data: { channel: 'n' } });
    await c.request({ type: 'publish', channel: 'n', data: 'self' });
    expect((await c.waitFor((f) => f.type === 'message')).data).toBe('self');
    g.child.kill('SIGTERM');
    expect(await c.waitClose()).toEqual({ code: 1001, reason: 'going_away' });
    expect(await g.exited).toBe(0);
  });

  it('SIGINT exits 0 too', async () => {
    const port = await freePort();
    const g = run({ WS_PORT: String(port) });
    await ready(port);
    g.child.kill('SIGINT');
    expect(await g.exited).toBe(0);
  });

  it('a bad environment stops start-up with one message naming every problem, exit 1', async () => {
    const g = run({ WS_PORT: 'abc', HEARTBEAT_MS: 'fast' });
    expect(await g.exited).toBe(1);
    expect(g.output()).toContain("WS_PORT is set as 'abc' when it must be an integer from 0 to 65535");
    expect(g.output()).toContain(
      "HEARTBEAT_MS is set as 'fast' when it must be an integer from 100 to 3600000",
    );
  });

  it('with nothing set says in its first log line that it runs the development profile, and binds 127.0.0.1', async () => {
    const port = await freePort();
    // No WS_HOST: the development profile's own default decides where it listens.
    const child = spawn(process.execPath, [BIN], {
      env: { PATH: process.env.PATH ?? '', WS_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    await ready(port);
    const first = JSON.parse(out.split('\n')[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({
      level: 'info',
      profile: 'development',
      msg: 'development profile: no auth (anyone connects), clients may publish on every channel, /demo on, any Origin, bound to 127.0.0.1, no rate limits; set GATEWAY_PROFILE=production for the production defaults',
    });
    expect(out).toContain('"host":"127.0.0.1"');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('NODE_ENV=production without authentication refuses to start: one message, exit 1', async () => {
    const g = run({ NODE_ENV: 'production', WS_PORT: String(await freePort()) });
    expect(await g.exited).toBe(1);
    expect(g.output()).toContain(
      'dotmac-gateway: Invalid environment:\n  - GATEWAY_PROFILE is production (NODE_ENV=production) but no authentication is set: set JWT_SECRET_KEY, JWT_PUBLIC_KEY, JWT_PUBLIC_KEY_FILE or JWKS_URL, or AUTH_DISABLED=true to accept anonymous sessions on purpose (or GATEWAY_PROFILE=development to try it out)\n',
    );
  });

  it('a port in use exits 1 with the reason', async () => {
    const port = await freePort();
    const first = run({ WS_PORT: String(port) });
    await ready(port);
    const second = run({ WS_PORT: String(port) });
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain('EADDRINUSE');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  });
});

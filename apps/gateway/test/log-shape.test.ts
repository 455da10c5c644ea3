import { freePort } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { runBin } from './bin-process';

/** The keys every line carries, once each (issue 20, item 7: one logger, one shape). */
const BASE_KEYS = ['level', 'time', 'pid', 'hostname', 'service', 'msg'];

/** Each line of `output` as JSON, with how often each key appears in its text. */
function linesOf(output: string): { line: string; json: Record<string, unknown> }[] {
  return output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => ({ line, json: JSON.parse(line) as Record<string, unknown> }));
}

/** Top-level keys of a JSON object's text, duplicates kept (JSON.parse would keep only the last). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (depth === 1 && line[j + 1] === ':') keys.push(JSON.parse(line.slice(i, j + 1)) as string);
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

function nullKeys(value: unknown, path = ''): string[] {
  if (value === null) return [path];
  if (typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => nullKeys(v, `${path}.${k}`));
}

function expectOneShape(output: string, service: string): { line: string; json: Record<string, unknown> }[] {
  const lines = linesOf(output);
  expect(lines.length).toBeGreaterThan(0);
  for (const { line, json } of lines) {
    const keys = topLevelKeys(line);
    for (const k of BASE_KEYS)
      expect(
        keys.filter((x) => x === k),
        `${k} once in ${line}`,
      ).toHaveLength(1);
    expect(new Set(keys).size, `no duplicate key in ${line}`).toBe(keys.length);
    expect(json.service).toBe(service);
    expect(json.pid).toEqual(expect.any(Number));
    expect(nullKeys(json), `no null in ${line}`).toEqual([]);
  }
  return lines;
}

describe('the reference app logs through one logger, in one shape', () => {
  it('BACKEND=nats on a closed port with OTEL_SERVICE_NAME: every line has the base keys once and no null', async () => {
    const closed = await freePort();
    const g = runBin({
      WS_PORT: '0',
      LOG_LEVEL: 'info',
      BACKEND: 'nats',
      NATS_URL: `nats://127.0.0.1:${closed}`,
      OTEL_SERVICE_NAME: 'chat-gw',
      OTEL_ENABLED: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`,
    });
    expect(await g.exited).toBe(1);
    const lines = expectOneShape(g.output(), 'chat-gw');
    // The first line (the profile), the tracing line and the backend's failure all made it.
    expect(lines[0]?.json.msg).toMatch(/^development profile: /);
    expect(lines.some((l) => l.json.msg === 'OpenTelemetry tracing on')).toBe(true);
    const failed = lines.find((l) => l.json.msg === 'the gateway could not start');
    expect((failed?.json.error as { code?: string } | undefined)?.code).toBe('connect_failed');
  }, 20_000);

  it('BACKEND=redis on a closed port with a password in REDIS_URL: the error reaches the log, the password never', async () => {
    const closed = await freePort();
    const g = runBin({
      WS_PORT: '0',
      LOG_LEVEL: 'debug',
      BACKEND: 'redis',
      REDIS_URL: `redis://:s3cret-pass@127.0.0.1:${closed}`,
    });
    expect(await g.exited).toBe(1);
    expect(g.output()).not.toContain('s3cret-pass');
    const lines = expectOneShape(g.output(), 'dotmac-gateway');
    const failed = lines.find((l) => l.json.msg === 'the gateway could not start');
    const error = failed?.json.error as { code?: string; message?: string } | undefined;
    expect(error?.code).toBe('connect_failed');
    expect(error?.message).toContain(`127.0.0.1:${closed}`);
  }, 20_000);
});

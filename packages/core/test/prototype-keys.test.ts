import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { startTestGateway } from './helpers';

// JSON escapes spell the same keys: `__proto\u005f_` is `__proto__`, `constructo\u0072` is
// `constructor`. (`\\` here is one backslash in the text sent.)
const ESCAPED = [
  ['"__proto\\u005f_"', '"constructo\\u0072"'],
  ['"\\u005f\\u005fproto\\u005f\\u005f"', '"\\u0063onstructor"'],
  ['"__pr\\u006fto__"', '"c\\u006fnstruct\\u006fr"'],
] as const;

/** The keys that must not survive, checked on a value and the objects in it. */
function prototypeKeysIn(value: unknown, path = 'data'): string[] {
  if (value === null || typeof value !== 'object') return [];
  const found: string[] = [];
  if (Object.hasOwn(value, '__proto__')) found.push(`${path}.__proto__`);
  const ctor = Object.hasOwn(value, 'constructor')
    ? (value as { constructor: unknown }).constructor
    : undefined;
  if (ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) {
    found.push(`${path}.constructor.prototype`);
  }
  for (const [k, v] of Object.entries(value)) found.push(...prototypeKeysIn(v, `${path}.${k}`));
  return found;
}

describe('prototype keys spelled with JSON escapes', () => {
  it.each(ESCAPED)('are removed from a frame before the handler sees it (%s, %s)', async (proto, ctor) => {
    const { gw, url } = await startTestGateway();
    const seen: unknown[] = [];
    gw.addMessageHandler('inspect', (_s, data, ctx) => {
      seen.push(data, ctx.frame);
      // What an application might do with a payload: merge it into an object of its own.
      const merged = Object.assign({}, data as object, (data as { nested: object }).nested);
      return {
        ownKeys: Object.keys(data as object).sort(),
        mergedPrototypeIntact: Object.getPrototypeOf(merged) === Object.prototype,
      };
    });
    const c = await TestClient.open(url);
    await c.welcome();
    const text = `{"type":"inspect","id":1,${proto}:{"polluted":"frame"},"data":{${proto}:{"polluted":"data"},${ctor}:{"prototype":{"polluted":"ctor"}},"nested":{${proto}:{"polluted":"nested"},"keep":true},"ok":1}}`;
    c.send(text);
    const reply = await c.waitFor((f) => f.id === 1);
    expect(reply).toEqual({
      type: 'ack',
      id: 1,
      data: { ownKeys: ['nested', 'ok'], mergedPrototypeIntact: true },
    });
    expect(prototypeKeysIn(seen)).toEqual([]);
    expect(seen[0]).toEqual({ nested: { keep: true }, ok: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it.each(ESCAPED)('are removed from a POST /api/publish body (%s, %s)', async (proto, ctor) => {
    const { base, url } = await startTestGateway({ apiKey: 'k3y' });
    const c = await TestClient.open(url);
    await c.welcome();
    await c.request({ type: 'subscribe', channel: 'news' });
    const raw: string[] = [];
    c.ws.on('message', (buf: Buffer) => raw.push(buf.toString()));
    const body = `{"channel":"news","type":"headline",${proto}:{"polluted":"body"},"data":{${proto}:{"polluted":"data"},${ctor}:{"prototype":{"polluted":"ctor"}},"title":"hi"}}`;
    const res = await fetch(`${base}/api/publish`, {
      method: 'POST',
      headers: { authorization: 'Bearer k3y', 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ delivered_local: 1 });
    await c.waitFor((f) => f.type === 'headline');
    // The delivered text is what the gateway kept of the body: no prototype key at all.
    expect(raw).toEqual(['{"type":"headline","channel":"news","data":{"title":"hi"}}']);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

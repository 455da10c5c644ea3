import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../src/index';
import { startTestGateway } from './helpers';

describe('message middleware and frames that cannot be read', () => {
  it('sees every inbound frame, malformed ones marked, and may refuse them first', async () => {
    const { gw, url } = await startTestGateway();
    const seen: unknown[] = [];
    let refuseNext = false;
    gw.use({
      message: async (ctx, next) => {
        seen.push({
          type: ctx.type,
          id: ctx.id,
          frame: ctx.frame,
          malformed: ctx.malformed && { code: ctx.malformed.code, message: ctx.malformed.message },
        });
        if (refuseNext) throw new ProtocolError('rate_limited', 'slow down', { retryAfterMs: 5 });
        await next();
      },
    });
    const c = await TestClient.open(url);
    await c.welcome();
    c.send('{oops');
    c.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    c.send({ id: 7 });
    expect(await c.request({ type: 'ping', id: 'ok' })).toMatchObject({ type: 'pong', id: 'ok' });
    refuseNext = true;
    c.send({ id: 8 });
    await c.waitFor((f) => f.id === 8);

    expect(c.frames.filter((f) => f.type === 'error')).toEqual([
      { type: 'error', data: { code: 'bad_request', message: 'the frame is not valid JSON' } },
      {
        type: 'error',
        data: { code: 'bad_request', message: 'binary frames are not supported: send JSON text' },
      },
      {
        type: 'error',
        id: 7,
        data: { code: 'bad_request', message: '"type" must be a string of 1 to 100 characters, got nothing' },
      },
      { type: 'error', id: 8, data: { code: 'rate_limited', message: 'slow down', retry_after_ms: 5 } },
    ]);
    const bad = (id: number | undefined, message: string) => ({
      type: '',
      id,
      frame: { type: '' },
      malformed: { code: 'bad_request', message },
    });
    expect(seen).toEqual([
      bad(undefined, 'the frame is not valid JSON'),
      bad(undefined, 'binary frames are not supported: send JSON text'),
      bad(7, '"type" must be a string of 1 to 100 characters, got nothing'),
      { type: 'ping', id: 'ok', frame: { type: 'ping', id: 'ok' }, malformed: null },
      bad(8, '"type" must be a string of 1 to 100 characters, got nothing'),
    ]);
  });
});

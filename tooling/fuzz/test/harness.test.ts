import type { AddressInfo } from 'node:net';
import { onCleanup, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { shortString } from '../src/describe-value';
import { readFuzzConfig } from '../src/fuzz-config';
import { isUnexpectedLogLine } from '../src/gateway-under-test';
import { PongWatcher } from '../src/pong-watcher';
import { finalStatus } from '../src/raw-request';
import { decodeServerFrames, encodeFrame, Opcode } from '../src/ws-frame';

// The suite's own checks, shown to fail when they must: a fuzz run that passes means something
// only if these can catch a fault.

describe('the fuzz harness', () => {
  it('encodes frames of every length form and decodes server frames', () => {
    for (const length of [0, 5, 125, 126, 200, 65_535, 70_000]) {
      const payload = Buffer.alloc(length, 7);
      const bytes = encodeFrame({
        fin: true,
        rsv: 0,
        opcode: Opcode.Text,
        payload,
        masked: false,
        maskKey: 0,
      });
      const { frames, rest, malformed } = decodeServerFrames(Buffer.concat([bytes, bytes.subarray(0, 1)]));
      expect(malformed).toBe(false);
      expect(frames).toHaveLength(1);
      expect(frames[0]!.payload.equals(payload)).toBe(true);
      expect(rest).toHaveLength(1);
    }
    const masked = encodeFrame({
      fin: true,
      rsv: 0,
      opcode: 1,
      payload: Buffer.from('x'),
      masked: true,
      maskKey: 9,
    });
    expect(decodeServerFrames(masked).malformed).toBe(true);
    const huge = encodeFrame({
      fin: true,
      rsv: 0,
      opcode: 1,
      payload: Buffer.alloc(0),
      masked: false,
      maskKey: 0,
      declaredLength: 2 ** 60,
    });
    expect(decodeServerFrames(huge).malformed).toBe(true);
  });

  it('reads the final HTTP status past 100 Continue, and tells incomplete from not HTTP', () => {
    expect(
      finalStatus(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Internal Server Error\r\n\r\n')),
    ).toBe(500);
    expect(finalStatus(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'))).toBe(
      101,
    );
    expect(finalStatus(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2'))).toBeNull();
    expect(finalStatus(Buffer.from('hello\r\n'))).toBe(-1);
  });

  it('flags error, unhandled, uncaught and non-JSON log lines only', () => {
    expect(isUnexpectedLogLine('{"level":"info","msg":"connection opened"}')).toBe(false);
    expect(isUnexpectedLogLine('{"level":"warn","msg":"slow consumer"}')).toBe(false);
    expect(isUnexpectedLogLine('')).toBe(false);
    expect(isUnexpectedLogLine('{"level":"error","msg":"HTTP API request failed"}')).toBe(true);
    expect(isUnexpectedLogLine('{"level":"warn","msg":"unhandled rejection"}')).toBe(true);
    expect(isUnexpectedLogLine('{"level":60,"msg":"x"}')).toBe(true);
    expect(isUnexpectedLogLine('TypeError: Invalid URL')).toBe(true);
  });

  it('writes long runs of one character by their count', () => {
    expect(shortString(`{"d":${'['.repeat(5000)}${']'.repeat(5000)}}`)).toBe(
      '"{\\"d\\":" + ‹"[" × 5000› + ‹"]" × 5000› + "}"',
    );
    expect(shortString('plain')).toBe('"plain"');
  });

  it('reads the FUZZ_* variables and names every bad one', () => {
    const c = readFuzzConfig({});
    expect(c.targets).toEqual(['frames', 'upgrade', 'http']);
    expect(c.seconds).toBe(30);
    expect(readFuzzConfig({ FUZZ_TARGET: 'http', FUZZ_SEED: '42', FUZZ_PATH: '3:1' })).toMatchObject({
      targets: ['http'],
      seed: 42,
      path: '3:1',
    });
    expect(() =>
      readFuzzConfig({ FUZZ_SECONDS: '0', FUZZ_TARGET: 'nope', FUZZ_SEED: 'x', FUZZ_IGNORE: '(' }),
    ).toThrow(
      /FUZZ_SECONDS is '0'[\s\S]*FUZZ_SEED is 'x'[\s\S]*FUZZ_TARGET names 'nope'[\s\S]*FUZZ_IGNORE is not a regular expression/,
    );
  });

  it('the well-behaved client reports a server that stops answering its pings', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    onCleanup(() => new Promise((resolve) => wss.close(resolve)));
    await new Promise((resolve) => wss.once('listening', resolve));
    let answered = 0;
    wss.on('connection', (ws) => {
      ws.send(JSON.stringify({ type: 'welcome', data: {} }));
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { id: number };
        // Three pongs, then silence: a stalled gateway.
        if (answered++ < 3) ws.send(JSON.stringify({ type: 'pong', id: frame.id }));
      });
    });
    const watcher = await PongWatcher.start((wss.address() as AddressInfo).port, {
      intervalMs: 50,
      gapMs: 300,
    });
    await waitUntil(() => watcher.violations.length > 0, 3000, 'a violation');
    expect(watcher.violations[0]!.message).toMatch(/^ping #4 has had no pong for \d+ ms$/);
    const summary = await watcher.stop();
    expect(summary.answered).toBe(3);
    expect(summary.sent).toBeGreaterThan(3);
  });
});

import { sleep } from '@dotmac-ws/test-utils';
import {
  type FramesInput,
  type FuzzMessage,
  framesInput,
  type SessionSpec,
} from '../arbitraries/frame-inputs';
import { describeValue, shortString } from '../describe-value';
import { type FuzzTarget, PropertyViolation } from '../fuzz-target';
import { MAX_MESSAGE_BYTES } from '../gateway-under-test';
import { httpHeadLength, httpStatus, nextSourceAddress, RawConnection } from '../raw-connection';
import {
  clientFrame,
  decodeServerFrames,
  encodeFrame,
  Opcode,
  SAMPLE_WEBSOCKET_KEY,
  type ServerFrame,
} from '../ws-frame';

/** The handshake of a fuzz session: valid, with the session's path, token and subprotocol. */
export function handshakeRequest(port: number, s: SessionSpec): string {
  let target = s.path;
  const protocols: string[] = s.subprotocol ? ['dotmac.v1'] : [];
  const headers = [`Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade'];
  headers.push(`Sec-WebSocket-Key: ${SAMPLE_WEBSOCKET_KEY}`, 'Sec-WebSocket-Version: 13');
  if (s.token !== null) {
    if (s.token.via === 'header') headers.push(`Authorization: Bearer ${s.token.text}`);
    else if (s.token.via === 'query')
      target += `${target.includes('?') ? '&' : '?'}token=${encodeURIComponent(s.token.text)}`;
    else protocols.push('dotmac.v1', `bearer.${s.token.text}`);
  }
  if (protocols.length > 0) headers.push(`Sec-WebSocket-Protocol: ${[...new Set(protocols)].join(', ')}`);
  return `GET ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`;
}

/** The bytes of one message. */
export function encodeMessage(m: FuzzMessage): Buffer {
  switch (m.kind) {
    case 'text':
      return clientFrame(Opcode.Text, m.text);
    case 'texts':
      return Buffer.concat(m.texts.map((t) => clientFrame(Opcode.Text, t)));
    case 'text-bytes':
      return clientFrame(Opcode.Text, m.bytes);
    case 'binary':
      return clientFrame(Opcode.Binary, m.bytes);
    case 'fragmented': {
      const whole = Buffer.from(m.text);
      const size = Math.ceil(whole.length / m.parts) || 1;
      const frames: Buffer[] = [];
      for (let i = 0; i < m.parts; i++) {
        const part = whole.subarray(i * size, (i + 1) * size);
        frames.push(clientFrame(i === 0 ? Opcode.Text : Opcode.Continuation, part, i === m.parts - 1));
        if (i === 0 && m.pingBetween) frames.push(clientFrame(Opcode.Ping, 'between'));
      }
      return Buffer.concat(frames);
    }
    case 'control':
      return clientFrame(m.opcode, m.payload);
    case 'close': {
      if (m.code === null) return clientFrame(Opcode.Close, Buffer.alloc(0));
      const code = Buffer.alloc(2);
      code.writeUInt16BE(m.code);
      return clientFrame(Opcode.Close, Buffer.concat([code, Buffer.from(m.reason)]).subarray(0, 125));
    }
    case 'oversized':
      return clientFrame(Opcode.Text, Buffer.alloc(MAX_MESSAGE_BYTES + m.extra, 0x20));
    case 'declared-huge':
      return encodeFrame({
        fin: true,
        rsv: 0,
        opcode: Opcode.Text,
        payload: Buffer.alloc(0),
        masked: true,
        maskKey: 1,
        declaredLength: m.length,
      });
    case 'bad-frame': {
      const bad = encodeFrame({ ...m, maskKey: 0x01020304 });
      if (m.followedBy === 'text') return Buffer.concat([bad, clientFrame(Opcode.Text, '{"type":"ping"}')]);
      if (m.followedBy === 'continuation') return Buffer.concat([bad, clientFrame(Opcode.Continuation, 'x')]);
      return bad;
    }
    case 'flood':
      return Buffer.concat(Array.from({ length: m.count }, () => clientFrame(Opcode.Text, m.text)));
  }
}

/** Text messages reassembled from server frames; a violation for anything a server must not send. */
function serverMessages(frames: ServerFrame[]): { texts: string[]; closeCode: number | null } {
  const texts: string[] = [];
  let closeCode: number | null = null;
  let pending: Buffer[] | null = null;
  for (const f of frames) {
    if (f.opcode === Opcode.Text || (f.opcode === Opcode.Continuation && pending !== null)) {
      pending = f.opcode === Opcode.Text ? [f.payload] : [...(pending ?? []), f.payload];
      if (f.fin) {
        texts.push(Buffer.concat(pending).toString('utf8'));
        pending = null;
      }
    } else if (f.opcode === Opcode.Close) {
      closeCode = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
    } else if (f.opcode !== Opcode.Ping && f.opcode !== Opcode.Pong) {
      throw new PropertyViolation('well-formed-answers', `the server sent a frame with opcode ${f.opcode}`);
    }
  }
  return { texts, closeCode };
}

/** Checks every text the server sent: a JSON object with a string type, never `internal_error`. */
function checkTexts(texts: string[]): void {
  for (const text of texts) {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      throw new PropertyViolation(
        'well-formed-answers',
        `the server sent a text frame that is not JSON: ${shortString(text)}`,
      );
    }
    const f = frame as { type?: unknown; data?: { code?: unknown } } | null;
    if (f === null || typeof f !== 'object' || typeof f.type !== 'string')
      throw new PropertyViolation(
        'well-formed-answers',
        `the server sent a frame without a string type: ${shortString(text)}`,
      );
    if (f.type === 'error' && f.data?.code === 'internal_error')
      throw new PropertyViolation(
        'no-internal-error',
        `the server answered internal_error: ${shortString(text)}`,
      );
  }
}

function isWelcome(text: string): boolean {
  try {
    return (JSON.parse(text) as { type?: unknown }).type === 'welcome';
  } catch {
    return false;
  }
}

let sentinels = 0;

/** Random WebSocket messages on a session opened as the input says, then a sentinel ping (or random bytes and a half-close). */
export const framesTarget: FuzzTarget<FramesInput> = {
  name: 'frames',
  title:
    'random WebSocket frames: JSON values, near-valid frames, invalid UTF-8, binary, fragmented, oversized, random bytes',
  weight: 0.4,
  arbitrary: framesInput,
  describe: (input) => describeValue(input),
  async exercise(input, { gateway, answerMs }) {
    const conn = await RawConnection.open(gateway.port, nextSourceAddress(), answerMs);
    try {
      await conn.write(Buffer.from(handshakeRequest(gateway.port, input.session)));
      const head = await conn.until(() => httpHeadLength(conn.received()) >= 0, answerMs);
      if (head !== 'matched') {
        throw new PropertyViolation(
          'answered-or-closed',
          head === 'timeout'
            ? `the handshake got no answer within ${answerMs} ms`
            : `the handshake was closed without an answer (${conn.error ?? 'FIN'})`,
        );
      }
      const status = httpStatus(conn.received());
      if (status === -1 || status === null)
        throw new PropertyViolation(
          'well-formed-answers',
          `the handshake's answer has no status line: ${shortString(conn.received().toString('latin1'))}`,
        );
      if (status === 500) throw new PropertyViolation('no-internal-error', 'the handshake was answered 500');
      if (status !== 101) return `handshake ${status}`;
      const bodyStart = httpHeadLength(conn.received());
      const frames = () => {
        const decoded = decodeServerFrames(conn.received().subarray(bodyStart));
        if (decoded.malformed)
          throw new PropertyViolation(
            'well-formed-answers',
            'the server sent a malformed (masked or over-long) frame',
          );
        return serverMessages(decoded.frames);
      };
      const welcomed = await conn.until(
        () => frames().texts.length > 0 || frames().closeCode !== null,
        answerMs,
      );
      const first = frames().texts[0];
      if (welcomed !== 'matched' || first === undefined || !isWelcome(first)) {
        throw new PropertyViolation(
          'welcome-first',
          welcomed === 'timeout'
            ? `no welcome within ${answerMs} ms of the upgrade`
            : `the first frame after the upgrade is not welcome: ${first === undefined ? `close ${frames().closeCode ?? conn.error ?? 'FIN'}` : shortString(first)}`,
        );
      }

      const sentinel = `fuzz-sentinel-${++sentinels}`;
      const parts = input.messages.map(encodeMessage);
      if (input.trailingBytes === null)
        parts.push(clientFrame(Opcode.Text, `{"type":"ping","id":"${sentinel}"}`));
      else parts.push(Buffer.from(input.trailingBytes));
      const all = Buffer.concat(parts);
      const step = Math.ceil(all.length / input.writes);
      for (let at = 0; at < all.length; at += step) {
        if (!(await conn.write(all.subarray(at, at + step)))) break;
        if (input.delayMs > 0) await sleep(input.delayMs);
      }
      if (input.trailingBytes !== null) conn.end();

      const answered = () => frames().texts.some((t) => t.includes(`"id":"${sentinel}"`));
      const outcome = await conn.until(
        () => (input.trailingBytes === null && answered()) || frames().closeCode !== null,
        answerMs,
      );
      const { texts, closeCode } = frames();
      checkTexts(texts);
      if (closeCode === 1011)
        throw new PropertyViolation('no-internal-error', 'the server closed with 1011 (internal error)');
      if (outcome === 'timeout') {
        throw new PropertyViolation(
          'answered-or-closed',
          input.trailingBytes === null
            ? `the sentinel ping after the messages got no reply and the connection was not closed within ${answerMs} ms`
            : `after random bytes and a half-close the connection was not closed within ${answerMs} ms`,
        );
      }
      if (closeCode !== null) return `closed ${closeCode}`;
      return outcome === 'closed' ? 'closed without a close frame' : 'sentinel answered';
    } finally {
      conn.destroy();
    }
  },
};

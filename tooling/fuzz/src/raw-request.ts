import { sleep } from '@dotmac-ws/test-utils';
import { shortString } from './describe-value';
import { type ExerciseContext, PropertyViolation } from './fuzz-target';
import { httpHeadLength, httpStatus, nextSourceAddress, RawConnection } from './raw-connection';

/** Written in a header value or target, replaced by the gateway's port when sent. */
export const PORT_PLACEHOLDER = '{port}';

/** An HTTP/1.1 request as raw parts, any of which may be malformed. */
export interface RawRequest {
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
  /** Lines written as they are among the headers (no colon, folded, NUL…). */
  rawLines: string[];
  /** Sent as UTF-8 when a string, as they are when bytes. */
  body: string | Uint8Array;
  /** Where to cut the request (a fraction of its bytes), then half-close; null sends it whole. */
  cut: number | null;
  /** The bytes are sent in this many writes… */
  writes: number;
  /** …with this pause between them (slowloris when long). */
  delayMs: number;
}

/** The bytes of `req` for the gateway on `port` (null leaves {@link PORT_PLACEHOLDER} in place). */
export function serializeRequest(req: RawRequest, port: number | null): Buffer {
  const fill = (s: string) => (port === null ? s : s.replaceAll(PORT_PLACEHOLDER, String(port)));
  const lines = [
    `${req.method} ${fill(req.target)} ${req.version}`,
    ...req.headers.map(([k, v]) => `${k}: ${fill(v)}`),
    ...req.rawLines,
  ];
  const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]);
}

/** The status of the final response at the start of `buf` (1xx other than 101 skipped); null while incomplete, -1 when not HTTP. */
export function finalStatus(buf: Buffer): number | null {
  let rest = buf;
  for (;;) {
    const status = httpStatus(rest);
    if (status === null || status === -1) return status;
    const head = httpHeadLength(rest);
    if (head < 0) return null;
    if (status >= 200 || status === 101 || status < 100) return status;
    rest = rest.subarray(head);
  }
}

/**
 * Sends `req` (cut and half-closed when it says so, in pieces with pauses) and checks that the
 * gateway answers with a well-formed final status that is not 500, or closes, within the bound.
 * Resolves with the status, or `closed`.
 */
export async function sendRawRequest(
  req: RawRequest,
  { gateway, answerMs }: ExerciseContext,
): Promise<string> {
  const conn = await RawConnection.open(gateway.port, nextSourceAddress(), answerMs);
  try {
    const whole = serializeRequest(req, gateway.port);
    const bytes = req.cut === null ? whole : whole.subarray(0, Math.floor(req.cut * whole.length));
    const step = Math.max(1, Math.ceil(bytes.length / req.writes));
    for (let at = 0; at < bytes.length; at += step) {
      if (!(await conn.write(bytes.subarray(at, at + step)))) break;
      if (req.delayMs > 0 && at + step < bytes.length) await sleep(req.delayMs);
    }
    if (req.cut !== null) conn.end();
    const outcome = await conn.until(() => finalStatus(conn.received()) !== null, answerMs);
    if (outcome === 'timeout') {
      const line = shortString(`${req.method} ${req.target} ${req.version}`, 120);
      throw new PropertyViolation(
        'answered-or-closed',
        req.cut === null
          ? `the request ${line} got no answer and its connection stayed open for ${answerMs} ms`
          : `after ${bytes.length} of the ${whole.length} bytes of the request ${line} and a half-close, the connection got no answer and stayed open for ${answerMs} ms`,
      );
    }
    if (outcome === 'closed') return 'closed';
    const status = finalStatus(conn.received())!;
    if (status === -1)
      throw new PropertyViolation(
        'well-formed-answers',
        `the answer is not HTTP: ${shortString(conn.received().toString('latin1'))}`,
      );
    if (status === 500)
      throw new PropertyViolation(
        'no-internal-error',
        `the request was answered 500: ${shortString(conn.received().toString('latin1'), 400)}`,
      );
    return String(status);
  } finally {
    conn.destroy();
  }
}

/** A request for a failure message: its parts, and the exact text sent. */
export function describeRequest(req: RawRequest): string {
  const text = serializeRequest(req, null).toString('utf8');
  const cut = req.cut === null ? 'sent whole' : `cut at ${(req.cut * 100).toFixed(1)}% then half-closed`;
  return (
    `${cut}, in ${req.writes} writes ${req.delayMs} ms apart ({port} is the gateway's port):\n` +
    shortString(text, 3000)
  );
}

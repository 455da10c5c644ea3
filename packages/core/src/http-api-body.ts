import { ErrorCode } from './constants';
import { exceedsJsonDepth } from './json-depth';
import { safeJsonParse } from './safe-json-parse';

/** The largest body the HTTP API accepts (larger: 413 `payload_too_large`). */
export const MAX_API_BODY_BYTES = 1024 * 1024;

/** An HTTP answer: status and JSON body. @internal */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** 400 `bad_request` naming every problem in one message. @internal */
export function badRequest(problems: readonly string[]): ApiAnswer {
  return { status: 400, body: { error: { code: ErrorCode.BadRequest, message: problems.join('; ') } } };
}

/**
 * A server API body as an object (prototype keys removed, nesting bounded), or the 400 that
 * says why it is not one. @internal
 */
export function parseApiBody(
  text: string,
  maxDepth: number,
): { body: Record<string, unknown>; refusal?: undefined } | { refusal: ApiAnswer } {
  let body: unknown;
  try {
    body = safeJsonParse(text);
  } catch {
    return { refusal: badRequest(['the body is not valid JSON']) };
  }
  if (exceedsJsonDepth(text, body, maxDepth)) {
    return { refusal: badRequest([`the body nests deeper than ${maxDepth} levels`]) };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { refusal: badRequest(['the body must be a JSON object']) };
  }
  return { body: body as Record<string, unknown> };
}

import { httpInput } from '../arbitraries/http-inputs';
import type { FuzzTarget } from '../fuzz-target';
import { describeRequest, type RawRequest, sendRawRequest } from '../raw-request';

/** Random requests to the HTTP API and health paths: each must get an answer (not 500) or be closed. */
export const httpTarget: FuzzTarget<RawRequest> = {
  name: 'http',
  title:
    'random HTTP API requests: bodies (non-JSON, deep, huge, prototype keys), content types, methods, framing',
  weight: 0.3,
  arbitrary: httpInput,
  describe: describeRequest,
  exercise: async (input, ctx) => `http ${input.method.slice(0, 8)} ${await sendRawRequest(input, ctx)}`,
};

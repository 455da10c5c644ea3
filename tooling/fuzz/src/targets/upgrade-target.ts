import { upgradeInput } from '../arbitraries/upgrade-inputs';
import type { FuzzTarget } from '../fuzz-target';
import { describeRequest, type RawRequest, sendRawRequest } from '../raw-request';

/** Random WebSocket handshakes over raw TCP: each must get an HTTP answer (not 500) or be closed. */
export const upgradeTarget: FuzzTarget<RawRequest> = {
  name: 'upgrade',
  title:
    'random upgrade requests over raw TCP: request targets, missing/duplicated/forged headers, truncated and slow requests',
  weight: 0.3,
  arbitrary: upgradeInput,
  describe: describeRequest,
  exercise: async (input, ctx) => `upgrade ${await sendRawRequest(input, ctx)}`,
};

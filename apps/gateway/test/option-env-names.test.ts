import { describe, expect, it } from 'vitest';
import { problemInEnvTerms, readEnvConfig } from '../src/index';

const env = readEnvConfig({ TRUST_PROXY: 'x', NATS_URL: 'nats://a,redis://b' });
const MAP = { trustProxy: 'TRUST_PROXY', servers: 'NATS_URL', user: 'NATS_USER' };

describe('problemInEnvTerms', () => {
  it('restates the subject with the text the variable was set as', () => {
    expect(problemInEnvTerms("trustProxy has 'x' when each entry must be an address", MAP, env)).toBe(
      "TRUST_PROXY is set as 'x' when it must be an address",
    );
  });

  it('names indexed options as entries, and leaves quoted values and unknown words alone', () => {
    expect(
      problemInEnvTerms(
        "servers[1] has the scheme 'redis:' when it must be nats://host, or set user",
        MAP,
        env,
      ),
    ).toBe("NATS_URL entry 2 has the scheme 'redis:' when it must be nats://host, or set NATS_USER");
    expect(problemInEnvTerms("the node's user is 'user' here", MAP, env)).toBe(
      "the node's NATS_USER is 'user' here",
    );
    expect(problemInEnvTerms('constructor is not an option', MAP, env)).toBe('constructor is not an option');
  });

  it('names the field of an indexed option as the field of that entry', () => {
    expect(problemInEnvTerms('servers[0].host must be set; other[1].x stays', MAP, env)).toBe(
      'the host of NATS_URL entry 1 must be set; other[1].x stays',
    );
  });
});

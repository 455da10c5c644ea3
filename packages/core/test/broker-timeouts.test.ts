import { describe, expect, it } from 'vitest';
import { BROKER_TIMEOUT_DEFAULTS, BROKER_TIMEOUT_RULES, checkIntegerOptions } from '../src/index';

describe('broker timeouts', () => {
  it('accept their defaults', () => {
    const problems: string[] = [];
    checkIntegerOptions(problems, BROKER_TIMEOUT_DEFAULTS, BROKER_TIMEOUT_RULES);
    expect(problems).toEqual([]);
    expect(BROKER_TIMEOUT_DEFAULTS).toEqual({ connectTimeoutMs: 5000, commandTimeoutMs: 2000 });
  });

  it('refuse a connect timeout under 100 ms and a command timeout under 10 ms', () => {
    const problems: string[] = [];
    checkIntegerOptions(problems, { connectTimeoutMs: 99, commandTimeoutMs: 9 }, BROKER_TIMEOUT_RULES);
    expect(problems).toEqual([
      'connectTimeoutMs is 99 when it must be an integer from 100 to 600000',
      'commandTimeoutMs is 9 when it must be an integer from 10 to 600000',
    ]);
  });
});

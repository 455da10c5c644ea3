import { ConfigError } from '@dotmac-ws/core';
import { onCleanup } from '@dotmac-ws/test-utils';
import { expect } from 'vitest';
import { createGatewayFromEnv } from '../src/index';

/** The environment every test starts from: loopback, a free port, no logs. */
export const BASE_ENV = { WS_HOST: '127.0.0.1', WS_PORT: '0', LOG_LEVEL: 'silent' } as const;

/** The problems `createGatewayFromEnv` reports for `env` (on top of {@link BASE_ENV}). */
export function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    createGatewayFromEnv({ ...BASE_ENV, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('the environment was accepted');
}

/** Builds the reference gateway from `env` and starts it; stopped after the test. */
export async function startApp(env: Record<string, string> = {}) {
  const built = createGatewayFromEnv({ ...BASE_ENV, ...env });
  await built.gateway.start();
  onCleanup(() => built.stop());
  const port = built.gateway.address()!.port;
  return { ...built, port, url: `ws://127.0.0.1:${port}/ws`, base: `http://127.0.0.1:${port}` };
}

import { ConfigError } from '@dotmac-ws/core';
import { createGatewayFromEnv } from './create-gateway';
import { applyV8Tuning } from './v8-tuning';

/**
 * Starts the reference gateway from the environment and keeps it running until SIGTERM or
 * SIGINT, which drain the sessions and exit 0. A bad setting exits 1 with one message that
 * names every problem; a failure to start (port in use) exits 1 too.
 */
export async function runGateway(env: Record<string, string | undefined> = process.env): Promise<void> {
  let built: ReturnType<typeof createGatewayFromEnv>;
  try {
    built = createGatewayFromEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`dotmac-gateway: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const { gateway, logger } = built;
  // Process-wide, so set here by the process's owner, before the first connection.
  const v8Flags = applyV8Tuning(built.env);
  if (v8Flags.length > 0) logger.debug({ v8_flags: v8Flags }, 'V8 flags set');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    built.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (error) => logger.error({ error }, 'unhandled rejection'));
  try {
    await gateway.start();
  } catch (error) {
    logger.error({ error }, 'the gateway could not start');
    process.exit(1);
  }
  const addr = gateway.address();
  const host = addr?.host === '::' || addr?.host === '0.0.0.0' || addr === null ? 'localhost' : addr.host;
  logger.info(
    { url: `ws://${host.includes(':') ? `[${host}]` : host}:${addr?.port}${gateway.config.path}` },
    'ready',
  );
}

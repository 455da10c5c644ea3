import type { Backend, GatewayOptions, Logger, WebSocketGateway } from '@dotmac-ws/core';
import type { EnvConfig } from './env-config';
import type { EnvVar } from './env-schema';

/** What a plugin gets besides the settings. */
export interface PluginContext {
  logger: Logger;
}

/**
 * How a package joins the reference gateway: the variables it reads, and what it adds to the
 * options before the gateway is built and to the gateway after. Plugins are listed in
 * `plugins/index.ts`; each lives in a file of its own there.
 */
export interface GatewayPlugin {
  /** The package's short name, e.g. `auth-jwt`. */
  name: string;
  /** The environment variables it reads (documented in docs/configuration.md). */
  env: readonly EnvVar[];
  /** A backend it provides, selected with `BACKEND={name}`. */
  backend?: { name: string; create(env: EnvConfig, ctx: PluginContext): Backend };
  /**
   * Adjusts the options (authenticator, policy, hooks, …). Returns the problems it found in its
   * settings, which are reported with every other problem in one message.
   */
  configure?(env: EnvConfig, options: GatewayOptions, ctx: PluginContext): readonly string[] | undefined;
  /** Adds middleware or hooks to the built gateway. */
  attach?(env: EnvConfig, gateway: WebSocketGateway, ctx: PluginContext): void;
  /** Releases what the plugin opened (e.g. a Redis client), after the gateway has stopped. */
  stop?(env: EnvConfig): Promise<void> | void;
}

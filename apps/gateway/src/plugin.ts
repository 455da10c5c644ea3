import type { Backend, GatewayMiddleware, GatewayOptions, Logger, WebSocketGateway } from '@dotmac-ws/core';
import type { EnvConfig } from './env-config';
import type { EnvVar } from './env-schema';

/** What a plugin's {@link GatewayPlugin.setup} gets besides the settings. */
export interface PluginContext {
  /** The one logger of the gateway, made before any plugin is set up. */
  readonly logger: Logger;
}

/**
 * What a plugin adds to the gateway. Every field is optional; the state the plugin needs later
 * (a limiter, an SDK) lives in the closures it returns.
 */
export interface PluginContribution {
  /**
   * Gateway options it sets (authenticator, channel policy, …). Two plugins may not set the
   * same option; a plugin's value wins over the one the gateway's own variables give.
   */
  readonly options?: Partial<GatewayOptions>;
  /** The backend, when `BACKEND` names this plugin's. */
  readonly backend?: Backend;
  /** Wraps whatever backend is chosen (e.g. to trace it). */
  readonly wrapBackend?: (backend: Backend) => Backend;
  /** Middleware added to the gateway, in order. */
  readonly middleware?: readonly GatewayMiddleware[];
  /** Called once the gateway is built, to add hooks (metrics, traces) to it. */
  readonly attach?: (gateway: WebSocketGateway) => void;
  /** Releases what the plugin opened (e.g. a Redis client), after the gateway has stopped. */
  readonly stop?: () => Promise<void> | void;
  /**
   * Problems of the objects it built, in option terms (`ConfigError.problems`): the gateway names
   * them in variables with {@link GatewayPlugin.optionEnv}.
   */
  readonly optionProblems?: readonly string[];
  /** Problems of its settings, in environment terms, reported with every other problem. */
  readonly problems?: readonly string[];
}

/**
 * How a package joins the reference gateway: the variables it owns, and a factory that returns
 * what it contributes. Plugins are listed in `plugins/index.ts`; each lives in a file of its own
 * there.
 */
export interface GatewayPlugin {
  /** The package's short name, e.g. `auth-jwt`. */
  readonly name: string;
  /** The environment variables it owns (documented in docs/configuration.md); each has one owner. */
  readonly env: readonly EnvVar[];
  /** The backend it provides, selected with `BACKEND={backendName}`. */
  readonly backendName?: string;
  /**
   * The variable that sets each option of the objects it builds, e.g. `{ secret: 'JWT_SECRET_KEY' }`:
   * the gateway names a `ConfigError` thrown by {@link setup} in these variables.
   */
  readonly optionEnv?:
    | Readonly<Record<string, string>>
    | ((env: EnvConfig) => Readonly<Record<string, string>>);
  /** Makes the logger of the whole gateway; the first plugin that has one provides it. */
  readonly createLogger?: (env: EnvConfig) => Logger;
  /** Reads its variables and returns what it contributes; may throw a `ConfigError`. */
  setup(env: EnvConfig, ctx: PluginContext): PluginContribution;
}

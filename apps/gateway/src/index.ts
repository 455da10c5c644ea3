export { envFileText, helpText, runCli } from './cli';
export { createGatewayFromEnv, type ReferenceGateway } from './create-gateway';
export { type EnvConfig, type EnvValue, readEnvConfig } from './env-config';
export {
  CORE_ENV,
  type EnvKind,
  type EnvVar,
  envSchema,
  GATEWAY_PROFILES,
  type GatewayProfile,
} from './env-schema';
export { type OptionEnvMap, problemInEnvTerms } from './option-env-names';
export type { GatewayPlugin, PluginContext, PluginContribution } from './plugin';
export { PLUGINS } from './plugins';
export { DOC_MARKERS, renderConfigurationDoc, withConfigurationReference } from './render-docs';
export { runGateway } from './run';

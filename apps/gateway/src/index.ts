export { createGatewayFromEnv, type ReferenceGateway } from './create-gateway';
export { type EnvConfig, type EnvValue, readEnvConfig } from './env-config';
export { ENV_SCHEMA, type EnvKind, type EnvVar } from './env-schema';
export { renderConfigurationDoc } from './render-docs';
export { runGateway } from './run';

export {
  algorithmsForKey,
  isJwtAlgorithm,
  isSymmetric,
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  minSecretBytes,
} from './algorithms';
export {
  type ChannelAction,
  type ChannelDecision,
  channelPolicy,
  type PolicySubject,
  RuleChannelPolicy,
} from './channel-policy';
export {
  type ChannelAccess,
  type ChannelPolicyConfig,
  type ChannelPolicyOptions,
  type ChannelRequirement,
  type ChannelRule,
  parseChannelRules,
  RULE_ROUTE_KEYS,
} from './channel-rules';
export {
  type ClaimMapper,
  type ClaimNames,
  type ClaimPath,
  DEFAULT_CLAIM_NAMES,
  type JwtClaims,
  type MappedIdentity,
  mapClaimsByName,
} from './claims';
export type { JwksSource } from './jwks-key-source';
export { JwtAuthenticator, jwtAuthenticator } from './jwt-authenticator';
export { JWT_DEFAULTS, type JwtAuthenticatorOptions } from './jwt-authenticator-options';

import { readFileSync } from 'node:fs';
import {
  channelPolicy,
  type JwtAlgorithm,
  type JwtAuthenticatorOptions,
  jwtAuthenticator,
} from '@dotmac-ws/auth-jwt';
import { ConfigError, type GatewayOptions } from '@dotmac-ws/core';
import type { EnvConfig } from '../env-config';
import type { GatewayPlugin } from '../plugin';
import { readRules } from '../rules-file';

/** Where each option of the authenticator comes from, to name its problems in variables. */
const OPTION_VARIABLES: Readonly<Record<string, string>> = {
  secret: 'JWT_SECRET_KEY',
  publicKey: 'JWT_PUBLIC_KEY',
  jwks: 'JWKS_URL',
  algorithms: 'JWT_ALGORITHM',
  issuer: 'JWT_ISSUER',
  audience: 'JWT_AUDIENCE',
  clockToleranceSec: 'JWT_CLOCK_TOLERANCE_SEC',
  maxAgeSec: 'JWT_MAX_AGE_SEC',
};

/**
 * `@dotmac-ws/auth-jwt` in the reference gateway: JWT authentication (any of JWT_SECRET_KEY,
 * JWT_PUBLIC_KEY(_FILE), JWKS_URL turns it on), REQUIRE_TOKEN, and channel rules from a JSON file.
 */
export const authJwtPlugin: GatewayPlugin = {
  name: 'auth-jwt',
  env: [
    {
      name: 'JWT_SECRET_KEY',
      group: 'auth',
      kind: { type: 'string' },
      default: undefined,
      description:
        'Shared secret of HS* tokens (at least 32 bytes for HS256). Setting it, JWT_PUBLIC_KEY(_FILE) or JWKS_URL turns authentication on.',
    },
    {
      name: 'JWT_PUBLIC_KEY',
      group: 'auth',
      kind: { type: 'string' },
      default: undefined,
      description: 'PEM public key of RS*, PS* or ES* tokens; `\\n` escapes are read as newlines.',
    },
    {
      name: 'JWT_PUBLIC_KEY_FILE',
      group: 'auth',
      kind: { type: 'string' },
      default: undefined,
      description: 'File holding the PEM public key, instead of JWT_PUBLIC_KEY.',
    },
    {
      name: 'JWKS_URL',
      group: 'auth',
      kind: { type: 'string', pattern: /^https?:\/\/\S+$/, hint: 'an http(s) URL' },
      default: undefined,
      description:
        'JWKS endpoint of RS*/PS*/ES* tokens; keys are cached by `kid`, an unknown `kid` fetches again (at most 10 times a minute).',
    },
    {
      name: 'JWT_ALGORITHM',
      group: 'auth',
      kind: { type: 'list' },
      default: undefined,
      description:
        'Comma-separated algorithms tokens may use (never `none`); unset: HS256 with a secret, the public key algorithm (RS256, ES256…), RS256 with a JWKS.',
    },
    {
      name: 'JWT_ISSUER',
      group: 'auth',
      kind: { type: 'list' },
      default: undefined,
      description: 'Comma-separated accepted issuers (`iss`); unset accepts any.',
    },
    {
      name: 'JWT_AUDIENCE',
      group: 'auth',
      kind: { type: 'list' },
      default: undefined,
      description: 'Comma-separated accepted audiences (`aud`); unset does not check `aud`.',
    },
    {
      name: 'JWT_CLOCK_TOLERANCE_SEC',
      group: 'auth',
      kind: { type: 'int', min: 0, max: 86_400 },
      default: '0',
      description:
        'Clock skew allowed for `exp` and `nbf`, in seconds; a session lives until `exp` plus this.',
    },
    {
      name: 'JWT_MAX_AGE_SEC',
      group: 'auth',
      kind: { type: 'int', min: 1, max: 31_536_000 },
      default: undefined,
      description: 'Refuse tokens issued (`iat`) longer ago than this, in seconds; unset does not check.',
    },
    {
      name: 'REQUIRE_TOKEN',
      group: 'auth',
      kind: { type: 'bool' },
      default: 'false',
      production: 'true',
      description:
        'Every session must authenticate, at the handshake or with an `auth` frame within AUTH_TIMEOUT_MS; needs a JWT key (applies only when one is set, unless set explicitly).',
    },
    {
      name: 'CHANNEL_RULES_FILE',
      group: 'auth',
      kind: { type: 'string' },
      default: undefined,
      description:
        'JSON file of channel rules (`[{ "pattern": "admin:*", "subscribe": { "roles": ["admin"] } }]`); with it the rules decide who publishes, whatever CLIENT_PUBLISH says.',
    },
  ],
  optionEnv: (env) =>
    env.string('JWT_PUBLIC_KEY_FILE') === undefined
      ? OPTION_VARIABLES
      : { ...OPTION_VARIABLES, publicKey: 'JWT_PUBLIC_KEY_FILE' },
  setup(env, { logger }) {
    const problems: string[] = [];
    const optionProblems: string[] = [];
    const options: Partial<GatewayOptions> = {};
    const auth = authenticatorOptions(env, problems);
    const requireToken = env.bool('REQUIRE_TOKEN');
    if (auth === null) {
      // The production profile's default asks for tokens only once a key is set; its lack of
      // any authentication is reported by the profile check, once.
      if (requireToken && env.isSet('REQUIRE_TOKEN')) {
        problems.push(
          'REQUIRE_TOKEN is true but no JWT key is set: set JWT_SECRET_KEY, JWT_PUBLIC_KEY, JWT_PUBLIC_KEY_FILE or JWKS_URL',
        );
      }
      for (const name of ['JWT_ALGORITHM', 'JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_MAX_AGE_SEC']) {
        if (env.values[name] !== undefined) {
          problems.push(`${name} is set but no JWT key is, so authentication would stay off`);
        }
      }
    } else if (auth !== undefined) {
      try {
        const authenticator = jwtAuthenticator(auth);
        options.authenticator = authenticator;
        options.requireToken = requireToken;
        logger.info(
          { algorithms: authenticator.algorithms, issuer: auth.issuer, require_token: requireToken },
          'JWT authentication on',
        );
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        optionProblems.push(...error.problems);
      }
    }

    const rulesFile = env.string('CHANNEL_RULES_FILE');
    if (rulesFile !== undefined) {
      const rules = readRules(rulesFile, problems);
      if (rules !== undefined) {
        options.channelPolicy = channelPolicy(rules.rules, rules);
        options.clientPublish = false;
        logger.info({ file: rulesFile, rules: rules.rules.length }, 'channel rules on');
      }
    }
    return { options, problems, optionProblems };
  },
};

/**
 * The authenticator's options from the environment: null when no key is set, undefined when the
 * key settings themselves have problems (already in `problems`).
 */
function authenticatorOptions(
  env: EnvConfig,
  problems: string[],
): JwtAuthenticatorOptions | null | undefined {
  const secret = env.string('JWT_SECRET_KEY');
  const inline = env.string('JWT_PUBLIC_KEY');
  const file = env.string('JWT_PUBLIC_KEY_FILE');
  const jwks = env.string('JWKS_URL');
  let publicKey: string | undefined;
  if (inline !== undefined && file !== undefined) {
    problems.push('JWT_PUBLIC_KEY and JWT_PUBLIC_KEY_FILE are both set: give the key one way');
    return undefined;
  }
  if (file !== undefined) {
    try {
      publicKey = readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(
        `JWT_PUBLIC_KEY_FILE is set as '${file}' but it cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
      return undefined;
    }
  } else if (inline !== undefined) {
    // Env files and orchestrators often carry a PEM on one line with literal `\n`s.
    publicKey = inline.replace(/\\n/g, '\n');
  }
  if (secret === undefined && publicKey === undefined && jwks === undefined) return null;
  const options: JwtAuthenticatorOptions = {
    secret,
    publicKey,
    jwks,
    algorithms: env.list('JWT_ALGORITHM') as JwtAlgorithm[] | undefined,
    issuer: env.list('JWT_ISSUER'),
    audience: env.list('JWT_AUDIENCE'),
    clockToleranceSec: env.int('JWT_CLOCK_TOLERANCE_SEC'),
  };
  const maxAge = env.values.JWT_MAX_AGE_SEC;
  if (typeof maxAge === 'number') options.maxAgeSec = maxAge;
  return options;
}

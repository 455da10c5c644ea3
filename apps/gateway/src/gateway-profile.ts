import { MIN_API_KEY_LENGTH } from '@dotmac-ws/core';
import type { EnvConfig } from './env-config';

/** The variables that turn JWT authentication on (any one of them). */
export const AUTH_KEY_VARIABLES: readonly string[] = [
  'JWT_SECRET_KEY',
  'JWT_PUBLIC_KEY',
  'JWT_PUBLIC_KEY_FILE',
  'JWKS_URL',
];

/** True when the environment sets a JWT key. */
function hasAuthKey(env: EnvConfig): boolean {
  return AUTH_KEY_VARIABLES.some((name) => env.values[name] !== undefined);
}

/**
 * What the profile refuses, in environment terms: the production profile will not start
 * without authentication unless `AUTH_DISABLED=true` says so on purpose, nor with an `API_KEY`
 * shorter than core's `MIN_API_KEY_LENGTH` (what `API_KEYS` entries need: it is an admin key of
 * the whole server API); `AUTH_DISABLED=true` beside a JWT key is a contradiction.
 */
export function profileProblems(env: EnvConfig): string[] {
  const keys = AUTH_KEY_VARIABLES.join(', ').replace(/, (?=[^,]*$)/, ' or ');
  const disabled = env.bool('AUTH_DISABLED');
  if (disabled && hasAuthKey(env)) {
    const set = AUTH_KEY_VARIABLES.filter((name) => env.values[name] !== undefined).join(', ');
    return [`AUTH_DISABLED is true but ${set} is set too: remove one of them`];
  }
  const problems: string[] = [];
  if (env.profile === 'production' && !disabled && !hasAuthKey(env)) {
    problems.push(
      `GATEWAY_PROFILE is production (${env.profileSource}) but no authentication is set: set ${keys}, ` +
        'or AUTH_DISABLED=true to accept anonymous sessions on purpose (or GATEWAY_PROFILE=development to try it out)',
    );
  }
  const apiKey = env.string('API_KEY');
  if (env.profile === 'production' && apiKey !== undefined && apiKey.length < MIN_API_KEY_LENGTH) {
    problems.push(
      `API_KEY is ${apiKey.length} characters when the production profile needs at least ${MIN_API_KEY_LENGTH} (it is the admin key of the whole server API): make one with \`openssl rand -hex 24\``,
    );
  }
  return problems;
}

/**
 * One line that says which profile runs and what it means, e.g. "development profile: no auth
 * (anyone connects), clients may publish on every channel, /demo on, any Origin, bound to
 * 127.0.0.1, no rate limits; set GATEWAY_PROFILE=production for the production defaults".
 */
export function profileSummary(env: EnvConfig): string {
  const auth = hasAuthKey(env)
    ? `JWT auth, tokens ${env.bool('REQUIRE_TOKEN') ? 'required' : 'optional'}`
    : 'no auth (anyone connects)';
  const publish =
    env.string('CHANNEL_RULES_FILE') !== undefined
      ? 'clients publish where the channel rules allow'
      : env.bool('CLIENT_PUBLISH')
        ? 'clients may publish on every channel'
        : 'clients may not publish';
  const facts = [
    auth,
    publish,
    env.bool('DEMO_ENABLED') ? '/demo on' : '/demo off',
    ...(env.bool('ADMIN_ENABLED') ? ['/admin on'] : []),
    env.list('ALLOWED_ORIGINS') === undefined ? 'any Origin' : 'Origin checked',
    `bound to ${env.string('WS_HOST') ?? 'all interfaces'}`,
    env.bool('RATE_LIMIT_ENABLED') ? 'rate limits on' : 'no rate limits',
  ].join(', ');
  return env.profile === 'development'
    ? `development profile: ${facts}; set GATEWAY_PROFILE=production for the production defaults`
    : `production profile (${env.profileSource}): ${facts}`;
}

import { AuthError, type Authenticator, type Identity } from '../src/index';

/**
 * Accepts `good.<user>[.<tenant>[.<expiresInMs>[.<role>+<role>…]]]` (dot-separated like a JWT,
 * so valid in a subprotocol; `-` leaves a part unset) and refuses the rest. Without roles the
 * user has the role `reader`; every user has the permission `chat:read`.
 */
export const testAuthenticator: Authenticator = {
  authenticate(token) {
    const [kind, user, tenant, expiresIn, roles] = token.split('.');
    if (kind !== 'good' || !user) throw new AuthError('bad_signature', 'signature does not verify');
    const identity: Identity = {
      userId: user,
      roles: roles === undefined ? ['reader'] : roles.split('+').filter((r) => r.length > 0),
      permissions: ['chat:read'],
    };
    if (tenant && tenant !== '-') identity.tenantId = tenant;
    if (expiresIn && expiresIn !== '-') identity.expiresAt = Date.now() + Number(expiresIn);
    return identity;
  },
};

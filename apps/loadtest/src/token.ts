import jwt from 'jsonwebtoken';
import type { ResolvedLoadOptions } from './options';

/**
 * The token connection `index` presents: the given one, one signed for it (sub
 * `loadtest-{index}`, the configured claims and life), or null.
 */
export function tokenFor(o: ResolvedLoadOptions, index: number): string | null {
  if (o.token !== null) return o.token;
  if (o.jwtSecret === null) return null;
  return jwt.sign({ sub: `loadtest-${index}`, ...o.jwtClaims }, o.jwtSecret, {
    algorithm: o.jwtAlgorithm,
    expiresIn: o.jwtExpiresInSec,
  });
}

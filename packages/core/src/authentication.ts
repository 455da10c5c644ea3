import type { IncomingMessage } from 'node:http';
import { AuthError } from './auth-error';
import type { Identity, TokenSource } from './authenticator';
import type { ResolvedGatewayConfig } from './config';
import { ErrorCode } from './constants';
import { errorMessage } from './error-message';
import { HandshakeError } from './handshake-error';
import type { HookRunner } from './hook-runner';
import { ProtocolError } from './protocol-error';
import type { WebSocketSession } from './session';
import type { GatewayCounters } from './stats';

/**
 * Verifies tokens with the configured authenticator, at the handshake and in `auth` frames,
 * and records every refusal (counter, log line, `onAuthFailure`). @internal
 */
export class TokenVerifier {
  readonly #config: ResolvedGatewayConfig;
  readonly #counters: GatewayCounters;
  readonly #hooks: HookRunner;

  constructor(config: ResolvedGatewayConfig, counters: GatewayCounters, hooks: HookRunner) {
    this.#config = config;
    this.#counters = counters;
    this.#hooks = hooks;
  }

  /**
   * Verifies `token`. A refusal throws a `HandshakeError` 401 at the handshake and a
   * `ProtocolError` `auth_failed` in-band (`source: 'frame'`).
   */
  async verify(
    token: string,
    source: TokenSource,
    tenantId: string | null,
    request: IncomingMessage | undefined,
    session: WebSocketSession | null,
  ): Promise<Identity> {
    const authenticator = this.#config.authenticator;
    const inBand = source === 'frame';
    if (authenticator === undefined) {
      this.failed('not_configured', 'no authenticator is configured', session);
      throw new ProtocolError(ErrorCode.AuthFailed, 'authentication is not configured on this gateway');
    }
    let identity: Identity;
    try {
      identity = await authenticator.authenticate(
        token,
        request ? { source, request, tenantId } : { source, tenantId },
      );
      if (typeof identity?.userId !== 'string' || identity.userId.length === 0) {
        throw new AuthError('missing_claim', 'the authenticator returned no userId');
      }
      if (identity.expiresAt != null && identity.expiresAt <= Date.now()) {
        throw new AuthError('expired', 'the token has expired');
      }
    } catch (error) {
      const reason = error instanceof AuthError ? error.code : 'invalid';
      this.failed(reason, errorMessage(error), session);
      if (inBand) throw new ProtocolError(ErrorCode.AuthFailed, 'the token was refused');
      throw new HandshakeError(401, 'the token was refused', {}, 'auth_failed');
    }
    return identity;
  }

  /** Records a refused authentication. */
  failed(reason: string, detail: string, session: WebSocketSession | null): void {
    this.#counters.auth_failures++;
    this.#config.logger.info({ reason, detail, session_id: session?.sessionId }, 'authentication failed');
    this.#hooks.call('onAuthFailure', (h) => h.onAuthFailure?.(reason, session));
  }
}

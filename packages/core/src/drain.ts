import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { ResolvedGatewayConfig } from './config';
import type { Connection } from './connection';
import { CloseCode } from './constants';
import type { HookRunner } from './hook-runner';
import type { SessionRegistry } from './session-registry';
import type { GatewayCounters } from './stats';
import type { TopicInterest } from './topic-interest';

/** What draining and the heartbeat need of the node. @internal */
export interface DrainNode {
  readonly nodeId: string;
  readonly config: ResolvedGatewayConfig;
  readonly counters: GatewayCounters;
  readonly hooks: HookRunner;
  readonly sessions: SessionRegistry<Connection>;
  readonly interest: TopicInterest;
  readonly server: Server;
  readonly ownsServer: boolean;
  readonly wss: WebSocketServer;
  readonly upgradeListener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly requestListener: (req: IncomingMessage, res: ServerResponse) => void;
  /** Runs after the sessions are gone, while the backend is still up (presence leaves, stores). */
  beforeBackendStop(): Promise<void>;
}

/**
 * The end of a gateway's life, and the heartbeat that keeps it honest until then.
 *
 * On `stop()` (the reference server calls it on SIGTERM and SIGINT) the gateway is already
 * `draining` (readiness 503, new upgrades 503); then {@link Drain.run}: stops the heartbeat,
 * closes sessions with 1001 in jittered batches of 100 over a short window (so that clients do
 * not all reconnect at once), terminates any left after `drainTimeoutMs`, waits for pending
 * backend subscription changes, stops the backend, detaches from the HTTP server (closing it
 * when the gateway owns it), then awaits the `onStop` hook so telemetry is flushed. @internal
 */
export class Drain {
  readonly #n: DrainNode;
  #heartbeat: NodeJS.Timeout | undefined;
  #onGone: (() => void) | undefined;

  constructor(node: DrainNode) {
    this.#n = node;
  }

  /** Starts the heartbeat: pings every session each `heartbeatMs`. */
  startHeartbeat(): void {
    this.#heartbeat = setInterval(() => this.tick(), this.#n.config.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** A connection ended and left the registry. */
  gone(): void {
    this.#onGone?.();
  }

  /** The heartbeat: pings every session, terminates those silent for two intervals. */
  tick(): void {
    const n = this.#n;
    const now = Date.now();
    const limit = 2 * n.config.heartbeatMs;
    for (const c of [...n.sessions.all()]) {
      const ws = c.socket;
      if (ws.readyState === ws.CLOSED) {
        // A socket that closed without its close event reaching us: clean it up here.
        n.counters.stale_sessions_removed++;
        c.closed(1006, 'stale');
        continue;
      }
      if (now - c.lastSeenAt > limit) {
        n.counters.heartbeat_timeouts++;
        c.terminate();
        continue;
      }
      if (ws.readyState === ws.OPEN) ws.ping();
    }
  }

  /** Drains and stops (see the class); `stopped` is called once the server is closed. */
  async run(stopped: () => void): Promise<void> {
    const n = this.#n;
    clearInterval(this.#heartbeat);
    const open = n.sessions.size;
    n.config.logger.info({ node_id: n.nodeId, sessions: open }, 'gateway draining');
    await this.#drainSessions();
    await n.beforeBackendStop();
    await n.interest.settled();
    try {
      await n.config.backend.stop();
    } catch (error) {
      n.hooks.reportError(error, 'backend stop');
    }
    n.server.off('upgrade', n.upgradeListener);
    n.server.off('request', n.requestListener);
    n.wss.close();
    if (n.ownsServer && n.server.listening) {
      await new Promise<void>((resolve) => {
        n.server.close(() => resolve());
        n.server.closeAllConnections();
      });
    }
    stopped();
    try {
      await n.hooks.hooks?.onStop?.();
    } catch (error) {
      n.config.logger.error({ error, hook: 'onStop' }, 'an observability hook threw');
    }
    n.config.logger.info({ node_id: n.nodeId, drained: open }, 'gateway stopped');
  }

  async #drainSessions(): Promise<void> {
    const n = this.#n;
    const sessions = [...n.sessions.all()];
    if (sessions.length === 0) return;
    const gone = new Promise<void>((resolve) => {
      this.#onGone = () => {
        if (n.sessions.size === 0) resolve();
      };
    });
    const batchSize = 100;
    const batches = Math.ceil(sessions.length / batchSize);
    const windowMs = batches === 1 ? 0 : Math.min(n.config.drainTimeoutMs / 2, batches * 20);
    const timers: NodeJS.Timeout[] = [];
    for (let b = 0; b < batches; b++) {
      const batch = sessions.slice(b * batchSize, (b + 1) * batchSize);
      const closeBatch = () => {
        for (const c of batch) c.close(CloseCode.GoingAway);
      };
      if (windowMs === 0) closeBatch();
      else timers.push(setTimeout(closeBatch, Math.random() * windowMs));
    }
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      deadline = setTimeout(() => resolve(true), n.config.drainTimeoutMs);
    });
    const late = await Promise.race([gone.then(() => false), timedOut]);
    clearTimeout(deadline);
    for (const t of timers) clearTimeout(t);
    if (late) {
      n.config.logger.warn(
        { remaining: n.sessions.size },
        'drain timeout: terminating the remaining sessions',
      );
      for (const c of [...n.sessions.all()]) c.socket.terminate();
      await Promise.race([gone, new Promise((r) => setTimeout(r, 1000))]);
    }
    this.#onGone = undefined;
  }
}

import type { ChannelRef } from '@dotmac-ws/core';

/** A cluster-wide transition of a channel: its first subscriber anywhere, or its last one gone. */
export interface OccupancyChange {
  /** `occupied` or `vacated`. */
  kind: 'occupied' | 'vacated';
  /** The channel (its name as clients name it, its internal name, its tenant). */
  channel: ChannelRef;
}

/**
 * Turns each node's own occupied/vacated events (`gateway.on('channel.occupied')`: this node's
 * first or last subscriber) into cluster-wide transitions, each told exactly once (to one node
 * of the cluster), a vacate only after `vacateDelayMs` without a new subscriber anywhere.
 */
export interface ChannelOccupancy {
  /** Starts; `listener` hears every transition this node is the one to tell. */
  start(nodeId: string, vacateDelayMs: number, listener: (change: OccupancyChange) => void): void;
  /** This node's first subscriber of `channel` arrived. */
  occupied(channel: ChannelRef): void;
  /** This node's last subscriber of `channel` left. */
  vacated(channel: ChannelRef): void;
  /** What `/health` shows of it: `degraded` while its store fails. */
  health(): { status: 'healthy' | 'degraded'; store: string; [detail: string]: unknown };
  /** Stops (after the gateway: the vacates its drain caused are sent first). */
  stop(): Promise<void>;
}

/**
 * Occupancy of one node, kept in this process: the node's view is the cluster's. A vacate waits
 * `vacateDelayMs` and is cancelled by a subscriber arriving meanwhile. At stop, the vacates
 * still waiting are told at once: no other node would tell them.
 *
 * @example
 * createAppBackend({ webhooks: { targets, secret, occupancy: new MemoryChannelOccupancy() } })
 */
export class MemoryChannelOccupancy implements ChannelOccupancy {
  readonly #occupied = new Set<string>();
  readonly #vacating = new Map<string, { timer: NodeJS.Timeout; channel: ChannelRef }>();
  #delayMs = 0;
  #listener: ((change: OccupancyChange) => void) | undefined;

  start(_nodeId: string, vacateDelayMs: number, listener: (change: OccupancyChange) => void): void {
    this.#delayMs = vacateDelayMs;
    this.#listener = listener;
  }

  occupied(channel: ChannelRef): void {
    const pending = this.#vacating.get(channel.internal);
    if (pending !== undefined) {
      clearTimeout(pending.timer);
      this.#vacating.delete(channel.internal);
    }
    if (this.#occupied.has(channel.internal)) return;
    this.#occupied.add(channel.internal);
    this.#listener?.({ kind: 'occupied', channel });
  }

  vacated(channel: ChannelRef): void {
    if (!this.#occupied.has(channel.internal) || this.#vacating.has(channel.internal)) return;
    if (this.#delayMs === 0) {
      this.#vacate(channel);
      return;
    }
    const timer = setTimeout(() => this.#vacate(channel), this.#delayMs);
    this.#vacating.set(channel.internal, { timer, channel });
  }

  health(): { status: 'healthy'; store: 'memory' } {
    return { status: 'healthy', store: 'memory' };
  }

  async stop(): Promise<void> {
    for (const { timer, channel } of [...this.#vacating.values()]) {
      clearTimeout(timer);
      this.#vacate(channel);
    }
  }

  #vacate(channel: ChannelRef): void {
    this.#vacating.delete(channel.internal);
    this.#occupied.delete(channel.internal);
    this.#listener?.({ kind: 'vacated', channel });
  }
}

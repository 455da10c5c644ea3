import { randomUUID } from 'node:crypto';
import type { ChannelRef, Logger, PresenceMember, WebSocketGateway } from '@dotmac-ws/core';
import { type ChannelOccupancy, MemoryChannelOccupancy } from './channel-occupancy';
import { ChannelPatterns } from './channel-patterns';
import { RedisChannelOccupancy } from './redis-channel-occupancy';
import type { WebhookEventName } from './webhook-event';
import type { ResolvedWebhookOptions } from './webhook-options';
import { WebhookTarget, type WebhookTargetStats, webhookMetrics } from './webhook-target';

/** Counters of the webhooks on this node. */
export interface WebhookStats {
  /** Per target. */
  targets: WebhookTargetStats[];
  /** Where occupancy is kept, and whether it works. */
  occupancy: ReturnType<ChannelOccupancy['health']>;
}

/**
 * Turns gateway events into webhook events and hands each to the targets that want it. Only
 * the gateway events some target wants are listened to. @internal
 */
export class Webhooks {
  readonly #o: ResolvedWebhookOptions;
  readonly #targets: WebhookTarget[];
  readonly #occupancy: ChannelOccupancy;
  readonly #clientEvents: ChannelPatterns;
  #nodeId = '';
  readonly #unlisten: (() => void)[] = [];

  constructor(options: ResolvedWebhookOptions, logger: Logger) {
    this.#o = options;
    this.#targets = options.targets.map((t) => new WebhookTarget(t, options, logger));
    const o = options.occupancy;
    this.#occupancy =
      o === undefined
        ? new MemoryChannelOccupancy()
        : 'redis' in o
          ? new RedisChannelOccupancy({ ...o, logger })
          : o;
    this.#clientEvents = new ChannelPatterns(options.clientEventChannels);
  }

  /** Listens to the gateway's events. */
  attach(gateway: WebSocketGateway): void {
    this.#nodeId = gateway.nodeId;
    const on = this.#unlisten;
    if (this.#wanted('session.connected')) {
      on.push(
        gateway.on('session.connected', ({ session }) =>
          this.emit('session.connected', {
            session_id: session.sessionId,
            user_id: session.userId,
            tenant_id: session.tenantId,
            remote_address: session.remoteAddress,
          }),
        ),
      );
    }
    if (this.#wanted('session.disconnected')) {
      on.push(
        gateway.on('session.disconnected', ({ session, code, reason, durationMs }) =>
          this.emit('session.disconnected', {
            session_id: session.sessionId,
            user_id: session.userId,
            tenant_id: session.tenantId,
            code,
            reason,
            duration_ms: durationMs,
          }),
        ),
      );
    }
    if (this.#wanted('channel.occupied') || this.#wanted('channel.vacated')) {
      this.#occupancy.start(gateway.nodeId, this.#o.vacateDelayMs, ({ kind, channel }) =>
        this.emit(kind === 'occupied' ? 'channel.occupied' : 'channel.vacated', channelFields(channel)),
      );
      on.push(
        gateway.on('channel.occupied', ({ channel }) => this.#occupancy.occupied(channel)),
        gateway.on('channel.vacated', ({ channel }) => this.#occupancy.vacated(channel)),
      );
    }
    for (const [core, name] of [
      ['presence.member_added', 'presence.member_added'],
      ['presence.member_removed', 'presence.member_removed'],
    ] as const) {
      if (!this.#wanted(name)) continue;
      on.push(
        gateway.on(core, ({ channel, member }) =>
          this.emit(name, { ...channelFields(channel), ...memberFields(member) }),
        ),
      );
    }
    if (this.#wanted('client.event') && this.#clientEvents.patterns.length > 0) {
      on.push(
        gateway.on('client.publish', ({ session, channel, type, data }) => {
          if (!this.#clientEvents.matches(channel.name)) return;
          this.emit('client.event', {
            ...channelFields(channel),
            session_id: session.sessionId,
            user_id: session.userId,
            event: type,
            data: data ?? null,
          });
        }),
      );
    }
  }

  /** Queues an event for every target that wants it (one id for all of them). */
  emit(name: WebhookEventName, fields: Record<string, unknown>): void {
    const event = { ...fields, id: randomUUID(), name, time_ms: Date.now(), node_id: this.#nodeId };
    for (const t of this.#targets) if (t.wants(name)) t.enqueue(event);
  }

  stats(): WebhookStats {
    return { targets: this.#targets.map((t) => t.stats()), occupancy: this.#occupancy.health() };
  }

  metrics(): string {
    return webhookMetrics(this.#targets);
  }

  /**
   * Stops listening, lets the occupancy tell what it still must (vacates), then delivers what
   * is queued for at most `stopTimeoutMs`.
   */
  async stop(): Promise<void> {
    for (const off of this.#unlisten.splice(0)) off();
    await this.#occupancy.stop();
    await Promise.all(this.#targets.map((t) => t.stop(this.#o.stopTimeoutMs)));
  }

  #wanted(name: WebhookEventName): boolean {
    return this.#targets.some((t) => t.wants(name));
  }
}

function channelFields(channel: ChannelRef): Record<string, unknown> {
  return { channel: channel.name, tenant_id: channel.tenantId };
}

function memberFields(member: PresenceMember): Record<string, unknown> {
  return {
    session_id: member.client,
    user_id: member.user,
    joined_at: member.joinedAt,
    ...(member.info === undefined ? {} : { info: member.info }),
  };
}

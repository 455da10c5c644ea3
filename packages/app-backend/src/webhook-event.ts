/** The events a webhook can carry (docs/app-backend.md, "Webhook events"). */
export const WEBHOOK_EVENT_NAMES = [
  'session.connected',
  'session.disconnected',
  'channel.occupied',
  'channel.vacated',
  'presence.member_added',
  'presence.member_removed',
  'client.event',
] as const;

/** One of {@link WEBHOOK_EVENT_NAMES}. */
export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number];

/**
 * One event as a webhook batch carries it: a unique `id` (the same in every retry, for
 * deduplication), its `name`, when it happened (`time_ms`), the node that sent it, and the
 * fields of its kind (snake_case).
 */
export interface WebhookEvent {
  /** Unique id of the event (a UUID); a redelivery carries the same id. */
  id: string;
  /** What happened. */
  name: WebhookEventName;
  /** When it happened, in ms since the epoch (the sending node's clock). */
  time_ms: number;
  /** The node that sent it. */
  node_id: string;
  /** The fields of the event's kind. */
  [field: string]: unknown;
}

/** The body of one webhook request. */
export interface WebhookBatch {
  /** When the batch was sent (this attempt), in ms since the epoch. */
  time_ms: number;
  /** The events, oldest first. */
  events: WebhookEvent[];
}

/** The counters a gateway keeps; all start at 0 and only grow. */
export interface GatewayCounters {
  connections_total: number;
  disconnections_total: number;
  handshakes_refused: number;
  messages_received: number;
  bytes_received: number;
  messages_sent: number;
  bytes_sent: number;
  messages_refused: number;
  broadcasts_published: number;
  broadcasts_received: number;
  deliveries: number;
  auth_failures: number;
  rate_limited: number;
  slow_consumer_disconnects: number;
  slow_consumer_drops: number;
  heartbeat_timeouts: number;
  stale_sessions_removed: number;
  backend_errors: number;
  handler_errors: number;
  /** Member info left out of presence for being larger than `maxPresenceInfoBytes`. */
  presence_info_dropped: number;
}

/** A fresh set of counters. */
export function createCounters(): GatewayCounters {
  return {
    connections_total: 0,
    disconnections_total: 0,
    handshakes_refused: 0,
    messages_received: 0,
    bytes_received: 0,
    messages_sent: 0,
    bytes_sent: 0,
    messages_refused: 0,
    broadcasts_published: 0,
    broadcasts_received: 0,
    deliveries: 0,
    auth_failures: 0,
    rate_limited: 0,
    slow_consumer_disconnects: 0,
    slow_consumer_drops: 0,
    heartbeat_timeouts: 0,
    stale_sessions_removed: 0,
    backend_errors: 0,
    handler_errors: 0,
    presence_info_dropped: 0,
  };
}

/** What `gateway.getStats()` and `GET /api/stats` return. */
export interface GatewayStats {
  node_id: string;
  status: 'starting' | 'running' | 'draining' | 'stopped';
  uptime_s: number;
  sessions: {
    total: number;
    authenticated: number;
    users: number;
    tenants: number;
    by_tenant: Record<string, number>;
  };
  channels: number;
  subscriptions: number;
  backend_topics: number;
  /**
   * Inbound frames read and not yet handled, summed over this node's sessions. Each session's
   * share stays near `maxPendingFrames` / `maxPendingBytes`: past either, its socket is not read.
   */
  pending_inbound: { frames: number; bytes: number };
  counters: GatewayCounters;
  backend: { name: string } & Record<string, number | string>;
  /** History and presence on this node: duplicates dropped, holes skipped, reads merged, members. */
  channel_features: Record<string, number>;
}

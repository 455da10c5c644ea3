/**
 * The counters every broker backend keeps for `/api/stats` (a backend may add its own, e.g.
 * NATS's `reconnects`).
 */
export interface BrokerBackendStats {
  /** Payloads the broker (or its client) accepted. */
  published: number;
  /** Payloads delivered to the gateway. */
  received: number;
  /** Payloads not sent because the broker was unreachable (lost for the other nodes). */
  dropped: number;
  /** Commands the broker refused or that failed for another reason than an outage. */
  errors: number;
  /** Times the topic set was subscribed again after a reconnection. */
  resubscribes: number;
  /** Times a connection to the broker was lost. */
  outages: number;
  /** Topics this node is subscribed to. */
  topics: number;
}

import type { BackendUnavailableError } from './backend-unavailable-error';
import type { ComponentHealth } from './health';

/** Called by a backend for every message that arrives on a topic this node subscribed. */
export type BackendDeliver = (topic: string, payload: Uint8Array) => void;

/**
 * How gateway nodes reach each other. A backend carries opaque payloads on topics; the
 * gateway decides what the topics and payloads are.
 *
 * Contract (the testkit's `runBackendConformance` checks it):
 * - `start` connects and remembers `deliver`; every later message on a subscribed topic is
 *   passed to it. It may include the node's own publishes: the gateway drops its own echo.
 * - `subscribe`/`unsubscribe` are interest-based: the gateway calls `subscribe` when the first
 *   local session needs a topic and `unsubscribe` after the last one leaves. They resolve once
 *   the broker has confirmed, so that a message published after `subscribe` resolves arrives.
 * - Messages from one publisher on one topic arrive in the order they were published.
 * - Any topic string is carried safely: no character of it may change routing.
 * - `publish` resolves once the message is accepted (by the broker, or by the client library
 *   that sends it in order) and rejects when it was not: the broker is unreachable, the backend
 *   is not started or is stopped, the broker refused it. A message the backend drops is never
 *   resolved as sent. Drops for unavailability reject with a {@link BackendUnavailableError}
 *   (code `backend_unavailable`, with a `retryAfterMs` the backend chooses, e.g. from its
 *   reconnection delay); the gateway turns every rejection into one, so clients get
 *   `backend_unavailable` and `POST /api/publish` answers 503.
 * - After a broker outage the backend resubscribes by itself; while the broker is gone,
 *   `publish` rejects at once (and counts the drop) rather than queueing without bound.
 * - `start` and `stop` are idempotent.
 */
export interface Backend {
  /** A short name for health and logs, e.g. `memory`, `redis`. */
  readonly name: string;
  /** Connects and starts delivering. */
  start(deliver: BackendDeliver): Promise<void>;
  /** Starts receiving `topic`. */
  subscribe(topic: string): Promise<void>;
  /** Stops receiving `topic`. */
  unsubscribe(topic: string): Promise<void>;
  /**
   * Sends `payload` to every node subscribed to `topic`. Rejects when the message was not
   * accepted ({@link BackendUnavailableError} while the broker is unreachable or the backend
   * is stopped): never resolves for a message it dropped.
   */
  publish(topic: string, payload: Uint8Array): Promise<void>;
  /**
   * True when no other node can receive `topic` right now, so that the gateway may skip
   * publishing it (a single-node gateway then pays nothing for the backend). Only a backend that
   * knows every node's subscriptions can say so (the memory backend knows its bus); a broker
   * backend leaves it unset and every message is published. Must be false while the backend is
   * not started, so that such a publish still rejects.
   */
  reachesNoOtherNode?(topic: string): boolean;
  /** The backend's health, for `GET /health` (`scaling_backend`). */
  health(): Promise<ComponentHealth>;
  /** Disconnects; pending work is flushed where the broker allows. */
  stop(): Promise<void>;
  /** Counters for `/api/stats` (published, received, dropped, errors, …). */
  stats?(): Record<string, number>;
}

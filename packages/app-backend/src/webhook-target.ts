import { errorText, type Logger } from '@dotmac-ws/core';
import { createAgents, type HttpAgents, postJson } from './http-post';
import { family, Histogram, labels } from './metrics-text';
import { signatureHeaders } from './signature';
import type { WebhookEvent, WebhookEventName } from './webhook-event';
import type { ResolvedWebhookOptions } from './webhook-options';

/** Attempts per batch at most, whatever `retryForMs` allows (every loop is bounded in count too). */
const MAX_ATTEMPTS = 100;
/** Webhook answers are not read: a small limit is enough. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Why events were dropped: the queue was full, or the gateway stopped with them still queued. */
export type DropReason = 'queue_full' | 'stopped';

/** Counters of one webhook target. */
export interface WebhookTargetStats {
  /** The target's name. */
  name: string;
  /** Events queued now. */
  queued: number;
  /** Events delivered (the endpoint answered 2xx). */
  sent: number;
  /** Events given up after retrying for `retryForMs`. */
  failed: number;
  /** Events dropped, by reason. */
  dropped: Record<DropReason, number>;
  /** Requests that failed (each retry counts). */
  failed_requests: number;
  /** True while the last request failed and the batch is being retried. */
  failing: boolean;
}

/**
 * One webhook endpoint: a bounded queue, batches of up to `batchSize` events sent after
 * `batchMs` (or at once when full), one request in flight at a time (so events arrive in the
 * order they were queued), retries with exponential backoff and jitter for `retryForMs`.
 * At-least-once while running: an event leaves the queue only when delivered, given up or
 * dropped, each counted. @internal
 */
export class WebhookTarget {
  readonly name: string;
  readonly #url: URL;
  readonly #events: ReadonlySet<WebhookEventName>;
  readonly #o: ResolvedWebhookOptions;
  readonly #logger: Logger;
  readonly #agents: HttpAgents = createAgents(1);
  #queue: WebhookEvent[] = [];
  #head = 0;
  #sending = false;
  /** Events of the batch in flight (still at the head of the queue). */
  #inFlight = 0;
  #failing = false;
  #timer: NodeJS.Timeout | undefined;
  /** Wakes a retry wait early (at stop). */
  #wake: (() => void) | undefined;
  /** While stopping: everything goes at once, retries end at this time. */
  #stopDeadline: number | undefined;
  #stopped = false;
  #idle: (() => void)[] = [];
  #sent = 0;
  #failed = 0;
  #failedRequests = 0;
  readonly #dropped: Record<DropReason, number> = { queue_full: 0, stopped: 0 };
  readonly #requests = new Histogram();
  readonly #lag = new Histogram();

  constructor(
    target: ResolvedWebhookOptions['targets'][number],
    options: ResolvedWebhookOptions,
    logger: Logger,
  ) {
    this.name = target.name;
    this.#url = target.url;
    this.#events = target.events;
    this.#o = options;
    this.#logger = logger;
  }

  /** True when this target gets events named `name`. */
  wants(name: WebhookEventName): boolean {
    return this.#events.has(name);
  }

  /** Events queued now. */
  get size(): number {
    return this.#queue.length - this.#head;
  }

  /** Queues an event; false when it was dropped (queue full, or stopped). */
  enqueue(event: WebhookEvent): boolean {
    if (this.#stopped) {
      this.#dropped.stopped++;
      return false;
    }
    if (this.size >= this.#o.queueSize) {
      this.#dropped.queue_full++;
      return false;
    }
    this.#queue.push(event);
    this.#kick();
    return true;
  }

  /**
   * Delivers what is queued, at once and with retries, for at most `timeoutMs`; then drops (and
   * counts) what is left and refuses new events.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopDeadline = Date.now() + timeoutMs;
    this.#wake?.();
    this.#kick();
    if (this.#sending || this.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#idle.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    this.#stopped = true;
    clearTimeout(this.#timer);
    // The batch in flight is counted by its own outcome (sent or failed).
    this.#dropped.stopped += this.size - this.#inFlight;
    this.#queue = [];
    this.#head = 0;
    this.#wake?.();
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  stats(): WebhookTargetStats {
    return {
      name: this.name,
      queued: this.size,
      sent: this.#sent,
      failed: this.#failed,
      dropped: { ...this.#dropped },
      failed_requests: this.#failedRequests,
      failing: this.#failing,
    };
  }

  /** The series of this target in each webhook metric family. */
  series(): {
    events: string[];
    requests: string[];
    duration: string[];
    lag: string[];
    queued: string[];
  } {
    const target = this.name;
    return {
      events: [
        `dotmac_ws_webhook_events_total{${labels({ target, outcome: 'sent' })}} ${this.#sent}`,
        `dotmac_ws_webhook_events_total{${labels({ target, outcome: 'failed' })}} ${this.#failed}`,
        ...Object.entries(this.#dropped).map(
          ([reason, n]) =>
            `dotmac_ws_webhook_events_total{${labels({ target, outcome: `dropped_${reason}` })}} ${n}`,
        ),
      ],
      requests: [
        `dotmac_ws_webhook_requests_total{${labels({ target, result: 'ok' })}} ${this.#requests.count - this.#failedRequests}`,
        `dotmac_ws_webhook_requests_total{${labels({ target, result: 'failed' })}} ${this.#failedRequests}`,
      ],
      duration: this.#requests.lines('dotmac_ws_webhook_request_duration_seconds', labels({ target })),
      lag: this.#lag.lines('dotmac_ws_webhook_delivery_lag_seconds', labels({ target })),
      queued: [`dotmac_ws_webhook_queued{${labels({ target })}} ${this.size}`],
    };
  }

  /** Starts a batch now when one is due, else arms the timer of the oldest event. */
  #kick(): void {
    if (this.#sending || this.#stopped) return;
    const size = this.size;
    if (size === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    const oldest = this.#queue[this.#head] as WebhookEvent;
    const wait = oldest.time_ms + this.#o.batchMs - Date.now();
    if (size >= this.#o.batchSize || this.#stopDeadline !== undefined || wait <= 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      void this.#run();
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#kick();
      }, wait);
    }
  }

  /** Sends the batch at the head of the queue (and the next ones that are due), one at a time. */
  async #run(): Promise<void> {
    this.#sending = true;
    try {
      const batch = this.#queue.slice(this.#head, this.#head + this.#o.batchSize);
      this.#inFlight = batch.length;
      await this.#deliver(batch);
      // stop() emptied the queue meanwhile (and did not count this batch as dropped).
      if (this.#stopped) return;
      this.#head += batch.length;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    } catch (error) {
      // #deliver does not throw; anything here is a bug, and must not stop the queue.
      this.#logger.error({ component: 'app-backend', target: this.name, error }, 'webhook delivery failed');
    } finally {
      this.#inFlight = 0;
      this.#sending = false;
      this.#kick();
    }
  }

  /** Sends one batch until it is delivered or given up (counted either way). */
  async #deliver(batch: WebhookEvent[]): Promise<void> {
    const first = Date.now();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      if (await this.#post(batch)) {
        this.#failing = false;
        this.#sent += batch.length;
        const now = Date.now();
        for (const e of batch) this.#lag.observe(now - e.time_ms);
        return;
      }
      this.#failing = true;
      const delay = backoff(attempt, this.#o.retryBaseMs, this.#o.retryMaxDelayMs);
      const limit = Math.min(first + this.#o.retryForMs, this.#stopDeadline ?? Number.POSITIVE_INFINITY);
      if (Date.now() + delay > limit || this.#stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    this.#failing = false;
    this.#failed += batch.length;
    this.#logger.error(
      { component: 'app-backend', target: this.name, events: batch.length },
      'webhook batch given up after retrying: its events are lost (counted as failed)',
    );
  }

  /** One request; true when the endpoint answered 2xx. */
  async #post(events: WebhookEvent[]): Promise<boolean> {
    const now = Date.now();
    const body = JSON.stringify({ time_ms: now, events });
    try {
      const answer = await postJson(this.#url, body, {
        timeoutMs: this.#o.timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
        headers: signatureHeaders(this.#o.secret, body, now),
        agents: this.#agents,
      });
      this.#requests.observe(Date.now() - now);
      if (answer.status >= 200 && answer.status <= 299) return true;
      this.#requestFailed(`HTTP ${answer.status}`);
    } catch (error) {
      this.#requests.observe(Date.now() - now);
      this.#requestFailed(errorText(error));
    }
    return false;
  }

  #requestFailed(why: string): void {
    this.#failedRequests++;
    this.#logger.warn(
      { component: 'app-backend', target: this.name, error: why },
      'webhook request failed: retrying',
    );
  }
}

/** Exponential backoff with jitter: between half and all of `base * 2^(attempt-1)`, capped. */
function backoff(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** The webhook metric families of every target. @internal */
export function webhookMetrics(targets: readonly WebhookTarget[]): string {
  const all = targets.map((t) => t.series());
  const pick = (k: keyof ReturnType<WebhookTarget['series']>) => all.flatMap((s) => s[k]);
  return [
    family(
      'dotmac_ws_webhook_events_total',
      'counter',
      'Webhook events by target and outcome: sent, failed (given up after retries), dropped_queue_full, dropped_stopped.',
      pick('events'),
    ),
    family(
      'dotmac_ws_webhook_requests_total',
      'counter',
      'Webhook requests by target and result.',
      pick('requests'),
    ),
    family(
      'dotmac_ws_webhook_request_duration_seconds',
      'histogram',
      'Duration of the webhook requests.',
      pick('duration'),
    ),
    family(
      'dotmac_ws_webhook_delivery_lag_seconds',
      'histogram',
      'Time from an event to its delivery.',
      pick('lag'),
    ),
    family('dotmac_ws_webhook_queued', 'gauge', 'Webhook events queued now.', pick('queued')),
  ].join('');
}

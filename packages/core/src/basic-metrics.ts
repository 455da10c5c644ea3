import type { WebSocketGateway } from './gateway';

type Kind = 'gauge' | 'counter';

/**
 * Prometheus text of the gateway's own counters, served at `GET /metrics` when no
 * observability hooks supply richer metrics. Names match `@dotmac-ws/observability`'s.
 */
export function basicMetrics(gateway: WebSocketGateway): string {
  const s = gateway.getStats();
  const c = s.counters;
  const rows: [name: string, kind: Kind, help: string, value: number][] = [
    ['dotmac_ws_connections', 'gauge', 'Open WebSocket sessions.', s.sessions.total],
    ['dotmac_ws_connections_total', 'counter', 'Sessions opened.', c.connections_total],
    ['dotmac_ws_disconnections_total', 'counter', 'Sessions closed.', c.disconnections_total],
    [
      'dotmac_ws_handshakes_refused_total',
      'counter',
      'Upgrades refused before the upgrade.',
      c.handshakes_refused,
    ],
    ['dotmac_ws_messages_received_total', 'counter', 'Frames received.', c.messages_received],
    ['dotmac_ws_messages_sent_total', 'counter', 'Frames sent.', c.messages_sent],
    ['dotmac_ws_bytes_received_total', 'counter', 'Bytes of frames received.', c.bytes_received],
    ['dotmac_ws_bytes_sent_total', 'counter', 'Bytes of frames sent.', c.bytes_sent],
    ['dotmac_ws_broadcasts_total', 'counter', 'Broadcasts published by this node.', c.broadcasts_published],
    ['dotmac_ws_subscriptions', 'gauge', 'Channel subscriptions.', s.subscriptions],
    ['dotmac_ws_channels', 'gauge', 'Channels with a local subscriber.', s.channels],
    ['dotmac_ws_rate_limited_total', 'counter', 'Frames refused with rate_limited.', c.rate_limited],
    ['dotmac_ws_auth_failures_total', 'counter', 'Refused tokens.', c.auth_failures],
    [
      'dotmac_ws_slow_consumer_disconnects_total',
      'counter',
      'Sessions closed with 4408.',
      c.slow_consumer_disconnects,
    ],
    ['dotmac_ws_backend_errors_total', 'counter', 'Backend failures.', c.backend_errors],
  ];
  let out = '';
  for (const [name, kind, help, value] of rows) {
    out += `# HELP ${name} ${help}\n# TYPE ${name} ${kind}\n${name} ${value}\n`;
  }
  return out;
}

// The gateway's protocol on bare `ws`, as most code writes it: one JSON.stringify per broadcast,
// then ws.send() to each subscriber (ws frames and writes every send on its own).
import { WebSocketServer } from 'ws';

const rooms = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT), path: '/ws' });
wss.on('connection', (ws) => {
  const joined = new Set();
  ws.send(JSON.stringify({ type: 'welcome', data: { session_id: 'naive', protocol: 1 } }));
  ws.on('message', (raw) => {
    const f = JSON.parse(raw);
    if (f.type === 'subscribe') {
      const channel = f.data?.channel ?? f.channel;
      if (!rooms.has(channel)) rooms.set(channel, new Set());
      rooms.get(channel).add(ws);
      joined.add(channel);
    } else if (f.type === 'publish') {
      const out = JSON.stringify({ type: f.event ?? 'message', channel: f.channel, data: f.data });
      for (const peer of rooms.get(f.channel) ?? []) peer.send(out);
    } else if (f.type === 'ping') {
      ws.send(JSON.stringify({ type: 'pong', id: f.id, data: f.data }));
      return;
    }
    if (f.id !== undefined) ws.send(JSON.stringify({ type: 'ack', id: f.id, data: { channel: f.channel } }));
  });
  ws.on('close', () => {
    for (const channel of joined) rooms.get(channel)?.delete(ws);
  });
});

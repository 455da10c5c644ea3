// The gateway's protocol on bare `ws`, as most code writes it: one JSON.stringify per broadcast,
// then ws.send() to each subscriber (ws frames and writes every send on its own). A connection
// with `?user=<id>` belongs to that user; `POST /api/publish` delivers to the user's sockets.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { answerPublish, userOf } from './http-publish.mjs';

const rooms = new Map();
const users = new Map();
const http = createServer((req, res) =>
  answerPublish(req, res, (m) => {
    const sockets = users.get(m.user_id);
    if (sockets) {
      const out = JSON.stringify({ type: m.type, data: m.data });
      for (const ws of sockets) ws.send(out);
    }
    return sockets?.size ?? 0;
  }),
);
const wss = new WebSocketServer({ server: http, path: '/ws' });
wss.on('connection', (ws, req) => {
  const joined = new Set();
  const user = userOf(req.url);
  if (user !== null) {
    if (!users.has(user)) users.set(user, new Set());
    users.get(user).add(ws);
  }
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
    if (user !== null) users.get(user)?.delete(ws);
  });
});
http.listen(Number(process.env.PORT), '127.0.0.1');

// The floor of what `ws` can do for the same protocol: each broadcast is serialized and framed
// once, and each socket is written once per event-loop turn (cork on the first write, one
// setImmediate uncorks every socket written to). A connection with `?user=<id>` belongs to that
// user; `POST /api/publish` `{"user_id","type","data"}` (with `Authorization: Bearer $API_KEY`
// when API_KEY is set) delivers to every socket of the user, the way the gateway's server API
// does.
import { createServer } from 'node:http';
import { Sender, WebSocketServer } from 'ws';
import { answerPublish, userOf } from './http-publish.mjs';

const rooms = new Map();
const users = new Map();
const corked = [];
const flush = () => {
  for (const s of corked.splice(0)) s.uncork();
};
const write = (socket, frame) => {
  if (socket.writableCorked === 0) {
    socket.cork();
    if (corked.push(socket) === 1) setImmediate(flush);
  }
  socket.write(frame);
};
const frameOf = (text) =>
  Buffer.concat(
    Sender.frame(Buffer.from(text), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }),
  );

const http = createServer((req, res) =>
  answerPublish(req, res, (m) => {
    const sockets = users.get(m.user_id);
    if (sockets) {
      const frame = frameOf(JSON.stringify({ type: m.type, data: m.data }));
      for (const socket of sockets) write(socket, frame);
    }
    return sockets?.size ?? 0;
  }),
);
const wss = new WebSocketServer({ server: http, path: '/ws' });
wss.on('connection', (ws, req) => {
  const joined = new Set();
  const socket = ws._socket;
  const user = userOf(req.url);
  if (user !== null) {
    if (!users.has(user)) users.set(user, new Set());
    users.get(user).add(socket);
  }
  const reply = (value) => write(socket, frameOf(JSON.stringify(value)));
  reply({ type: 'welcome', data: { session_id: 'floor', protocol: 1 } });
  ws.on('message', (raw) => {
    const f = JSON.parse(raw);
    if (f.type === 'subscribe') {
      const channel = f.data?.channel ?? f.channel;
      if (!rooms.has(channel)) rooms.set(channel, new Set());
      rooms.get(channel).add(socket);
      joined.add(channel);
    } else if (f.type === 'publish') {
      const frame = frameOf(JSON.stringify({ type: f.event ?? 'message', channel: f.channel, data: f.data }));
      for (const peer of rooms.get(f.channel) ?? []) write(peer, frame);
    } else if (f.type === 'ping') {
      reply({ type: 'pong', id: f.id, data: f.data });
      return;
    }
    if (f.id !== undefined) reply({ type: 'ack', id: f.id, data: { channel: f.channel } });
  });
  ws.on('close', () => {
    for (const channel of joined) rooms.get(channel)?.delete(socket);
    if (user !== null) users.get(user)?.delete(socket);
  });
});
http.listen(Number(process.env.PORT), '127.0.0.1');

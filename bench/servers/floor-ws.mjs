// The floor of what `ws` can do for the same protocol: each broadcast is serialized and framed
// once, and each socket is written once per event-loop turn (cork on the first write, one
// setImmediate uncorks every socket written to). A connection with `?user=<id>` belongs to that
// user. `POST /api/publish` (with `Authorization: Bearer $API_KEY` when API_KEY is set) takes the
// gateway's server API bodies: `{"user_id","type","data"}` delivers to every socket of the user,
// `{"channel","type","data"}` broadcasts to the channel; it answers `{delivered_local}`. With
// `HEARTBEAT_MS` set it pings every socket each interval and terminates one that did not answer
// the previous ping (the usual `ws` heartbeat). With `JWT_SECRET_KEY` set, an upgrade without a
// valid HS256 token in `?token=` is refused (401).
import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import jwt from 'jsonwebtoken';
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
/** Frames one broadcast once and writes it to every socket of `channel`; the count written to. */
const broadcast = (channel, type, data) => {
  const room = rooms.get(channel);
  if (room === undefined) return 0;
  const frame = frameOf(JSON.stringify({ type, channel, data }));
  for (const peer of room) write(peer, frame);
  return room.size;
};

/** Frames one message to a user once and writes it to every socket of `user`; the count written to. */
const toUser = (user, type, data) => {
  const sockets = users.get(user);
  if (sockets === undefined) return 0;
  const frame = frameOf(JSON.stringify({ type, data }));
  for (const socket of sockets) write(socket, frame);
  return sockets.size;
};

const http = createServer((req, res) =>
  answerPublish(req, res, (m) =>
    m.user_id !== undefined
      ? toUser(m.user_id, m.type, m.data)
      : broadcast(m.channel, m.type ?? 'message', m.data),
  ),
);
// With JWT_SECRET_KEY set, the upgrade needs an HS256 token in `?token=`, checked the way a `ws`
// application usually does it: `jsonwebtoken.verify` in `verifyClient`, 401 when it fails. The
// secret is made a KeyObject once: given the string, jsonwebtoken 9 first tries it as a public
// key and throws, for every token (584 against 142 us of server CPU per connection measured).
const JWT_SECRET =
  process.env.JWT_SECRET_KEY === undefined
    ? undefined
    : createSecretKey(Buffer.from(process.env.JWT_SECRET_KEY));
const verifyClient =
  JWT_SECRET === undefined
    ? undefined
    : ({ req }) => {
        try {
          const token = new URL(req.url, 'http://floor').searchParams.get('token') ?? '';
          jwt.verify(token, JWT_SECRET, { algorithms: ['HS256'] });
          return true;
        } catch {
          return false;
        }
      };
const wss = new WebSocketServer({ server: http, path: '/ws', verifyClient });
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
      broadcast(f.channel, f.event ?? 'message', f.data);
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

const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS ?? 0);
if (HEARTBEAT_MS > 0) {
  const answered = new WeakSet();
  wss.on('connection', (ws) => {
    answered.add(ws);
    ws.on('pong', () => answered.add(ws));
  });
  setInterval(() => {
    for (const ws of wss.clients) {
      if (!answered.delete(ws)) ws.terminate();
      else ws.ping();
    }
  }, HEARTBEAT_MS).unref();
}
http.listen(Number(process.env.PORT), '127.0.0.1');

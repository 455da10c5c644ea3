// Socket.IO with rooms, the way its documentation shows broadcasting to a room. The load
// runner's socket.io dialect sends `subscribe`, `publish` and `echo` events with acks. A
// connection with `?user=<id>` joins the room `user:<id>`; `POST /api/publish` emits to it.
// With SOCKETIO_REDIS_URL the server runs `@socket.io/redis-adapter` (ioredis) under the key
// SOCKETIO_REDIS_KEY, so that a broadcast reaches the rooms' sockets on every node.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { answerPublish } from './http-publish.mjs';

const http = createServer((req, res) =>
  answerPublish(req, res, (m) => {
    const room = `user:${m.user_id}`;
    io.to(room).emit(m.type, m.data);
    return io.sockets.adapter.rooms.get(room)?.size ?? 0;
  }),
);
const redisUrl = process.env.SOCKETIO_REDIS_URL;
let adapter;
if (redisUrl) {
  // Loaded only here: without it the server is the plain Socket.IO of the other sections.
  const { createAdapter } = await import('@socket.io/redis-adapter');
  const { Redis } = await import('ioredis');
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  await Promise.all([pub, sub].map((c) => new Promise((resolve) => c.once('ready', resolve))));
  adapter = createAdapter(pub, sub, { key: process.env.SOCKETIO_REDIS_KEY ?? 'socket.io' });
}
const io = new Server(http, { serveClient: false, ...(adapter ? { adapter } : {}) });
io.on('connection', (socket) => {
  const user = socket.handshake.query.user;
  if (typeof user === 'string') socket.join(`user:${user}`);
  socket.on('subscribe', (channel, ack) => {
    socket.join(channel);
    ack?.({ channel });
  });
  socket.on('publish', (m, ack) => {
    io.to(m.channel).emit(m.event ?? 'message', m.channel, m.data);
    ack?.({ channel: m.channel });
  });
  socket.on('echo', (data, ack) => ack?.(data));
});
http.listen(Number(process.env.PORT), '127.0.0.1');

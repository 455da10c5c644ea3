// The floor of what `ws` can do for the same protocol: each broadcast is serialized and framed
// once, and each socket is written once per event-loop turn (cork on the first write, one
// setImmediate uncorks every socket written to). `POST /api/publish` ({channel, type, data})
// broadcasts to a channel as the gateway's HTTP API does and answers `{delivered_local}`; with
// `HEARTBEAT_MS` set it pings every socket each interval and terminates one that did not answer
// the previous ping (the usual `ws` heartbeat).
import { createServer } from 'node:http';
import { Sender, WebSocketServer } from 'ws';

const rooms = new Map();
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
  const frame = frameOf(JSON.stringify({ type, channel, data }));
  const room = rooms.get(channel);
  if (room === undefined) return 0;
  for (const peer of room) write(peer, frame);
  return room.size;
};

const http = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/publish') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let f;
    try {
      f = JSON.parse(Buffer.concat(chunks));
    } catch {
      res.writeHead(400).end();
      return;
    }
    const delivered = broadcast(f.channel, f.type ?? 'message', f.data);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ delivered_local: delivered }));
  });
});
const wss = new WebSocketServer({ server: http, path: '/ws' });
wss.on('connection', (ws) => {
  const joined = new Set();
  const socket = ws._socket;
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

// The floor of what `ws` can do for the same protocol: each broadcast is serialized and framed
// once, and each socket is written once per event-loop turn (cork on the first write, one
// setImmediate uncorks every socket written to). A connection with `?user=<id>` belongs to that
// user. `POST /api/publish` (with `Authorization: Bearer $API_KEY` when API_KEY is set) takes the
// gateway's server API bodies: `{"user_id","type","data"}` delivers to every socket of the user,
// `{"channel","type","data"}` broadcasts to the channel; it answers `{delivered_local}`. With
// `HEARTBEAT_MS` set it pings every socket each interval and terminates one that did not answer
// the previous ping (the usual `ws` heartbeat). With `JWT_SECRET_KEY` set, an upgrade without a
// valid HS256 token in `?token=` is refused (401).
//
// With FLOOR_REDIS_URL, the floor of a relay through Redis (the shapes section's two-node runs):
// a broadcast is serialized once and published on `${FLOOR_REDIS_KEY}:c:<channel>` (`:u:<user>`
// to a user) with ioredis auto-pipelining (one write per event-loop turn), then acked (or
// answered over HTTP) once Redis accepted it. A node subscribes a room's Redis channel when its
// first socket joins (answering the subscribe once Redis confirmed it), and a user's when the
// user connects (welcoming the connection once confirmed). A node delivers only what Redis hands
// it, its own publishes included, so that nothing is filtered by origin: the least per-message
// work a relay through Redis does, beside the gateway's envelope, origin check and hooks.
// With FLOOR_NATS_URL instead, the same over NATS core (`@nats-io/transport-node`): subjects
// `${FLOOR_NATS_SUBJECT}.c.<channel>` and `.u.<user>` (the bench's names are plain tokens), a
// subscription confirmed with a flush, and a publish acked once the client took it (the NATS
// client writes what it holds when the turn ends), as the gateway's NATS backend answers it.
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
    Sender.frame(typeof text === 'string' ? Buffer.from(text) : text, {
      fin: true,
      rsv1: false,
      opcode: 1,
      mask: false,
      readOnly: false,
    }),
  );
/**
 * Frames `payload` once and writes it to every socket of `sockets` (a room or a user's
 * sockets, or undefined): the count written to.
 */
const writeAll = (sockets, payload) => {
  if (sockets === undefined || sockets.size === 0) return 0;
  const frame = frameOf(payload);
  for (const socket of sockets) write(socket, frame);
  return sockets.size;
};
/** The rooms (`kind` 'c') or the users ('u'), by name. */
const targetsOf = (kind) => (kind === 'c' ? rooms : users);
/** `join(kind, name)` calling `subscribe(kind, name)` once per target and keeping its promise. */
const joinOnce = (subscribe) => {
  const joined = new Map();
  return (kind, name) => {
    const key = `${kind}:${name}`;
    let subscribed = joined.get(key);
    if (subscribed === undefined) {
      subscribed = subscribe(kind, name);
      joined.set(key, subscribed);
    }
    return subscribed;
  };
};
/**
 * The relay through Redis: `join(kind, name)` subscribes `<prefix>c:<channel>` or
 * `<prefix>u:<user>` once and resolves when Redis confirmed it; `publish(kind, name, text)`
 * resolves when Redis accepted it. What Redis hands the node goes to the room's or the user's
 * sockets.
 */
async function redisRelay(url, prefix) {
  const { Redis } = await import('ioredis');
  const pub = new Redis(url, { enableAutoPipelining: true });
  const sub = new Redis(url);
  await Promise.all([pub, sub].map((c) => new Promise((resolve) => c.once('ready', resolve))));
  const C = 'c'.charCodeAt(0);
  sub.on('messageBuffer', (channel, message) => {
    const targets = channel[prefix.length] === C ? rooms : users;
    writeAll(targets.get(channel.toString('utf8', prefix.length + 2)), message);
  });
  return {
    join: joinOnce((kind, name) => sub.subscribe(`${prefix}${kind}:${name}`)),
    publish: (kind, name, text) => pub.publish(`${prefix}${kind}:${name}`, text),
  };
}
/**
 * The relay through NATS core: `join(kind, name)` subscribes `<prefix>.c.<channel>` or
 * `<prefix>.u.<user>` once and resolves when the server confirmed it (a flush); `publish(kind,
 * name, text)` hands the message to the client and returns 0, answered at once.
 */
async function natsRelay(servers, prefix) {
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers });
  const start = prefix.length + 3;
  const deliver = (error, msg) => {
    if (error) return;
    const subject = msg.subject;
    const { data } = msg;
    writeAll(
      targetsOf(subject[start - 2]).get(subject.slice(start)),
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    );
  };
  return {
    join: joinOnce((kind, name) => {
      nc.subscribe(`${prefix}.${kind}.${name}`, { callback: deliver });
      return nc.flush();
    }),
    publish(kind, name, text) {
      nc.publish(`${prefix}.${kind}.${name}`, text);
      return 0;
    },
  };
}
const relay = process.env.FLOOR_REDIS_URL
  ? await redisRelay(process.env.FLOOR_REDIS_URL, `${process.env.FLOOR_REDIS_KEY ?? 'floor'}:`)
  : process.env.FLOOR_NATS_URL
    ? await natsRelay(process.env.FLOOR_NATS_URL, process.env.FLOOR_NATS_SUBJECT ?? 'floor')
    : null;

/**
 * Frames one broadcast once and writes it to every socket of `channel`: the count written to
 * (through Redis: a promise, resolved once Redis accepted the message; through NATS: 0).
 */
const broadcast = (channel, type, data) => {
  const text = JSON.stringify({ type, channel, data });
  return relay !== null ? relay.publish('c', channel, text) : writeAll(rooms.get(channel), text);
};

/**
 * Frames one message to a user once and writes it to every socket of `user`: the count written
 * to (through Redis: a promise of 0, resolved once Redis accepted the message; through NATS: 0).
 */
const toUser = (user, type, data) => {
  const text = JSON.stringify({ type, data });
  if (relay === null) return writeAll(users.get(user), text);
  const sent = relay.publish('u', user, text);
  return typeof sent === 'number' ? 0 : sent.then(() => 0);
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
  const welcome = () => reply({ type: 'welcome', data: { session_id: 'floor', protocol: 1 } });
  if (relay !== null && user !== null) relay.join('u', user).then(welcome, () => ws.terminate());
  else welcome();
  ws.on('message', (raw) => {
    const f = JSON.parse(raw);
    const ack = () => {
      if (f.id !== undefined) reply({ type: 'ack', id: f.id, data: { channel: f.channel } });
    };
    const failed = () => {
      if (f.id !== undefined) reply({ type: 'error', id: f.id, data: { code: 'backend_unavailable' } });
    };
    if (f.type === 'subscribe') {
      const channel = f.data?.channel ?? f.channel;
      if (!rooms.has(channel)) rooms.set(channel, new Set());
      rooms.get(channel).add(socket);
      joined.add(channel);
      if (relay !== null) {
        relay.join('c', channel).then(ack, failed);
        return;
      }
    } else if (f.type === 'publish') {
      const sent = broadcast(f.channel, f.event ?? 'message', f.data);
      if (typeof sent !== 'number') {
        sent.then(ack, failed);
        return;
      }
    } else if (f.type === 'ping') {
      reply({ type: 'pong', id: f.id, data: f.data });
      return;
    }
    ack();
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

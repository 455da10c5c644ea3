// One client process of the `scale` section (forked by scale-section.mjs, which talks to it over
// IPC): it holds its share of the idle connections under its own open-files limit, as lean
// sockets (lean-socket.mjs) bound to the source addresses it is given. Each connection waits for
// the welcome, subscribes to one channel and waits for the ack; pings are answered (and counted)
// by the lean socket; a broadcast is recognised by its type and timed with Date.now(), which
// every process on the machine reads from the same clock.
//
// Messages from the parent, each answered with `{ op, ... }` of the same op:
//   prepare {url, from, count, addresses, portBase, channel, jwtSecret, concurrency, timeoutMs,
//           deadlineMs}: connection `from + i` binds addresses[(from + i) % A], port
//           portBase + floor((from + i) / A) (the kernel's choice where that port is taken)
//           signs the tokens (one HS256 token per connection, before the storm)
//   go      opens the connections (at most `concurrency` in flight)
//   count   {open, closed, pings}
//   collect {waitMs}: waits until every open connection got the broadcast (or waitMs passed)
//   close   drops every connection; the process exits
import { createHmac } from 'node:crypto';
import { LeanSocket } from './lean-socket.mjs';
import { subscribeAfterWelcome } from './lean-subscribe.mjs';
import { sleep } from './net-util.mjs';

/** The broadcast the parent publishes: `{"type":"bcast",...}`. */
const BROADCAST_TYPE = Buffer.from('{"type":"bcast"');
/** In the gateway's welcome of a session whose token was verified. */
const AUTHENTICATED = Buffer.from('"authenticated":true');

const b64url = (x) => Buffer.from(x).toString('base64url');

/** An HS256 JWT for user `sub`, valid for an hour. */
function sign(secret, sub) {
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(JSON.stringify({ sub, iat: now, exp: now + 3600 }))}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

let o = null;
let urls = null;
const sockets = [];
/** Per local index: 1 once the broadcast came. */
let got = null;
let received = 0;
let lastReceivedAt = 0;
let closed = 0;
let pings = 0;
let portFallbacks = 0;

/** Connects connection `i`, from its own source address and port; where that port is taken, from one the kernel picks. */
async function connect(i) {
  const g = o.from + i;
  const options = {
    protocol: 'dotmac.v1',
    localAddress: o.addresses[g % o.addresses.length],
    timeoutMs: o.timeoutMs,
  };
  const url = urls ? urls[i] : o.url;
  try {
    return await LeanSocket.connect(url, {
      ...options,
      localPort: o.portBase + Math.floor(g / o.addresses.length),
    });
  } catch (reason) {
    if (reason !== 'EADDRINUSE') throw reason;
    portFallbacks++;
    return LeanSocket.connect(url, options);
  }
}

/** Connects connection `i` (local index), waits for its welcome and its subscribe ack. */
async function open(i) {
  const started = performance.now();
  const ws = await connect(i);
  let welcomeMs = null;
  let authenticated = false;
  try {
    await subscribeAfterWelcome(ws, o.channel, o.timeoutMs, (welcome) => {
      welcomeMs = performance.now() - started;
      authenticated = welcome.indexOf(AUTHENTICATED) >= 0;
    });
  } catch (reason) {
    ws.terminate();
    throw reason;
  }
  ws.onMessage = (data) => {
    if (
      got[i] === 0 &&
      data.length >= BROADCAST_TYPE.length &&
      data.compare(BROADCAST_TYPE, 0, BROADCAST_TYPE.length, 0, BROADCAST_TYPE.length) === 0
    ) {
      got[i] = 1;
      received++;
      lastReceivedAt = Date.now();
    }
  };
  ws.onClose = () => closed++;
  ws.onPing = () => pings++;
  sockets.push(ws);
  return { welcomeMs, authenticated };
}

/** The storm: every connection of this process, `o.concurrency` in flight. */
async function storm() {
  const startedAt = Date.now();
  const deadline = performance.now() + o.deadlineMs;
  const failures = {};
  const welcome = [];
  let authenticated = 0;
  let lastReadyAt = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency, o.count) }, async () => {
      while (next < o.count && performance.now() < deadline) {
        const i = next++;
        try {
          const r = await open(i);
          welcome.push(Math.round(r.welcomeMs * 10) / 10);
          if (r.authenticated) authenticated++;
          lastReadyAt = Date.now();
        } catch (reason) {
          const key = typeof reason === 'string' ? reason : String(reason?.message ?? reason);
          failures[key] = (failures[key] ?? 0) + 1;
        }
      }
    }),
  );
  if (next < o.count) failures.deadline = (failures.deadline ?? 0) + o.count - next;
  return {
    ready: sockets.length,
    authenticated,
    portFallbacks,
    failures,
    startedAt,
    lastReadyAt,
    welcomeMs: welcome,
  };
}

async function collect(waitMs) {
  const until = performance.now() + waitMs;
  while (performance.now() < until && received < sockets.length - closed) await sleep(10);
  return { received, lastReceivedAt, open: sockets.length - closed };
}

const answer = (op, body) => process.send({ op, ...body });

process.on('message', async (m) => {
  try {
    if (m.op === 'prepare') {
      o = m;
      got = new Uint8Array(o.count);
      const t = performance.now();
      if (o.jwtSecret) {
        urls = Array.from(
          { length: o.count },
          (_, i) => `${o.url}?token=${sign(o.jwtSecret, `scale-${o.from + i}`)}`,
        );
      }
      answer('prepare', { signMs: Math.round(performance.now() - t) });
    } else if (m.op === 'go') {
      answer('go', await storm());
    } else if (m.op === 'count') {
      answer('count', { open: sockets.length - closed, closed, pings });
    } else if (m.op === 'collect') {
      answer('collect', await collect(m.waitMs));
    } else if (m.op === 'close') {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  } catch (error) {
    answer('error', { failedOp: m.op, message: String(error?.stack ?? error) });
  }
});
// The parent went away: nothing left to report to.
process.on('disconnect', () => process.exit(0));

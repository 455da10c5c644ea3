// An application backend for dotmac-ws in Node's `http` module only: it answers the gateway's
// proxy (connect, refresh, subscribe, publish, RPC) and receives its webhooks, verifying the
// signature of every request. Start: APP_SECRET=... node examples/app-backend-node/app.mjs
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const SECRET = process.env.APP_SECRET ?? 'change-me-to-16-chars-or-more';
const PORT = Number(process.env.PORT ?? 8000);
// Stands in for the application's own sessions (a cookie `sid` names one).
const SESSIONS = {
  'alice-session': { user: 'alice', roles: ['admin'] },
  'bob-session': { user: 'bob', roles: [] },
};

function verified(req, body) {
  const ts = req.headers['x-dotmac-timestamp'] ?? '';
  const mac = createHmac('sha256', SECRET).update(`${ts}.`).update(body).digest('hex');
  const want = Buffer.from(`sha256=${mac}`);
  const got = Buffer.from(String(req.headers['x-dotmac-signature'] ?? ''));
  const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
  return fresh && got.length === want.length && timingSafeEqual(got, want);
}

const routes = {
  '/connect': ({ cookies }) => {
    if (cookies.sid === undefined) return { result: {} }; // anonymous
    const s = SESSIONS[cookies.sid];
    if (s === undefined) return { error: { code: 'unknown_session', message: 'log in again' } };
    const expires_at = Math.floor(Date.now() / 1000) + 3600;
    return {
      result: {
        user: s.user,
        roles: s.roles,
        channels: [`user:${s.user}`],
        info: { name: s.user },
        expires_at,
      },
    };
  },
  '/refresh': () => ({ result: { expires_at: Math.floor(Date.now() / 1000) + 3600 } }),
  '/subscribe': ({ channel, roles }) =>
    channel.startsWith('admin:') && !roles.includes('admin')
      ? { error: { code: 'forbidden', message: 'admins only' } }
      : { result: {} },
  '/publish': ({ data, user_id }) => ({
    result: { data: { text: String(data?.text ?? '').trim(), by: user_id } },
  }),
  '/rpc': ({ method, user_id }) =>
    method === 'whoami'
      ? { result: { data: { user: user_id } } }
      : { error: { code: 'unknown_method', message: method } },
  '/webhooks': ({ events }) => {
    for (const e of events) console.log(`webhook ${e.name} ${e.channel ?? e.session_id} ${e.id}`);
    return {};
  },
};

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const route = Object.hasOwn(routes, req.url) ? routes[req.url] : undefined;
    const status = route === undefined ? 404 : verified(req, body) ? 200 : 401;
    const answer =
      status === 200 ? route(JSON.parse(body)) : { error: { code: 'refused', message: `HTTP ${status}` } };
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
}).listen(PORT, '127.0.0.1', () => console.log(`app backend listening on http://127.0.0.1:${PORT}`));

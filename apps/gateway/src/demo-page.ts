import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Where the demo is served. */
export const DEMO_PATH = '/demo';

/**
 * The demo page: connect with `@dotmac-ws/client`, subscribe to a channel, publish, and watch
 * messages, the connection state and who is online in the room (the channel subscribed last,
 * where the channel has `presence` and `join_leave`) live. Only static text: everything a
 * visitor types or another client sends is shown with `textContent`, never as HTML.
 */
export function demoHtml(wsPath: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dotmac-ws demo</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
  fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 0 0 1rem; }
  input { font: inherit; padding: .3rem; }
  #state { font-weight: bold; }
  #messages { list-style: none; padding: 0; max-height: 20rem; overflow: auto; border-top: 1px solid #eee; }
  #messages li { padding: .25rem 0; border-bottom: 1px solid #eee; font-family: ui-monospace, monospace; }
  #members { margin: .3rem 0; padding-left: 1.2rem; }
  #presence-note { color: #777; }
</style>
</head>
<body>
<h1>dotmac-ws demo</h1>
<p>Connection: <span id="state" data-testid="state">loading</span> <span id="session"></span></p>
<fieldset>
  <legend>Channel</legend>
  <input id="channel" value="demo" aria-label="channel">
  <button id="subscribe">Subscribe</button>
  <span id="subscribed" data-testid="subscribed"></span>
</fieldset>
<fieldset>
  <legend>Publish</legend>
  <input id="text" placeholder="a message" aria-label="message">
  <button id="publish">Publish</button>
  <span id="published"></span>
</fieldset>
<fieldset>
  <legend>Online in <span id="room" data-testid="room">no room yet</span></legend>
  <ul id="members" data-testid="members"></ul>
  <span id="presence-note" data-testid="presence-note"></span>
</fieldset>
<ul id="messages" data-testid="messages"></ul>
<script type="module">
import { createClient, trackPresence } from '${DEMO_PATH}/client.js';
const $ = (id) => document.getElementById(id);
const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + ${JSON.stringify(wsPath)};
const client = createClient({ url, reconnect: { minDelayMs: 200, maxDelayMs: 5000 } });
client.onEvent('state', ({ state }) => { $('state').textContent = state; });
client.onEvent('connected', ({ welcome }) => { $('session').textContent = '(session ' + welcome.session_id.slice(0, 8) + ')'; });
const subscriptions = new Map();
let room; // { channel, tracker }: the channel subscribed last, whose members the page shows
function name(key, user) {
  const info = user.info;
  if (info !== null && typeof info === 'object' && typeof info.name === 'string') return info.name;
  return user.user ?? 'guest ' + key.slice(0, 8);
}
function showMembers() {
  const me = client.welcome && client.welcome.session_id;
  const items = [...room.tracker.users].map(([key, user]) => {
    const li = document.createElement('li');
    const more = user.clients.length > 1 ? ' (' + user.clients.length + ' sessions)' : '';
    li.textContent = name(key, user) + more + (user.clients.includes(me) ? ' (you)' : '');
    return li;
  });
  $('members').replaceChildren(...items);
  $('presence-note').textContent = room.tracker.synced ? items.length + ' online' : 'syncing…';
}
function watchRoom(channel, sub) {
  if (room) room.tracker.stop();
  const tracker = trackPresence(sub);
  room = { channel, tracker };
  $('room').textContent = channel;
  $('members').replaceChildren();
  tracker.on('change', showMembers);
  tracker.on('error', ({ error }) => {
    $('presence-note').textContent = error.code === 'not_available'
      ? 'presence is off for ' + channel + ' (channel options "presence" and "join_leave")'
      : 'presence refused: ' + (error.code || error.message);
  });
}
function show(line) {
  const li = document.createElement('li');
  li.textContent = line;
  $('messages').prepend(li);
}
$('subscribe').onclick = async () => {
  const channel = $('channel').value.trim();
  if (subscriptions.has(channel)) return;
  const sub = client.subscribe(channel, (data, frame) => show(channel + ' ' + frame.type + ': ' + JSON.stringify(data)));
  subscriptions.set(channel, sub);
  watchRoom(channel, sub);
  try {
    await sub.ready;
    $('subscribed').textContent = 'subscribed to ' + [...subscriptions.keys()].join(', ');
  } catch (error) {
    subscriptions.delete(channel);
    $('subscribed').textContent = 'refused: ' + (error.code || error.message);
  }
};
$('publish').onclick = async () => {
  const channel = $('channel').value.trim();
  try {
    await client.publish(channel, { text: $('text').value });
    $('published').textContent = 'sent';
  } catch (error) {
    $('published').textContent = 'refused: ' + (error.code || error.message);
  }
};
</script>
</body>
</html>
`;
}

/**
 * Serves `GET /demo` (the page) and `GET /demo/client.js` (the client's ESM bundle, as it is
 * published). Returns false for other paths.
 */
export function createDemoHandler(wsPath: string): (req: IncomingMessage, res: ServerResponse) => boolean {
  const html = demoHtml(wsPath);
  let bundle: string | undefined;
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === DEMO_PATH || path === `${DEMO_PATH}/`) {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy':
          "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; style-src 'unsafe-inline'; script-src 'self' 'unsafe-inline'",
      });
      res.end(html);
      return true;
    }
    if (path === `${DEMO_PATH}/client.js`) {
      bundle ??= readFileSync(clientBundlePath(), 'utf8');
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(bundle);
      return true;
    }
    return false;
  };
}

/** The ESM build of `@dotmac-ws/client`: the folder of its `require` entry holds `index.js`. */
function clientBundlePath(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@dotmac-ws/client')), 'index.js');
}

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where the admin console is served (`ADMIN_ENABLED=true` and an admin key). */
export const ADMIN_PATH = '/admin';

/** How often the console asks the server API for the nodes and channels. */
export const ADMIN_POLL_MS = 2000;

/** The console's look. */
const ADMIN_STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; max-width: 60rem; margin: 1rem auto; padding: 0 1rem; color: #222; }
  header { display: flex; align-items: baseline; gap: 1rem; border-bottom: 1px solid #ddd; }
  header h1 { font-size: 1.2rem; margin: .4rem 0; flex: 1; }
  h2 { font-size: 1rem; margin: 1rem 0 .3rem; }
  h2 small { font-weight: normal; color: #666; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid #eee; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  input, textarea, button { font: inherit; padding: .25rem .4rem; }
  form.action { display: flex; gap: .4rem; flex-wrap: wrap; align-items: center; margin: .3rem 0; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0 2rem; }
  #chart { width: 100%; height: 110px; background: #fafafa; border: 1px solid #eee; }
  .bad { color: #b00020; }
  .ok { color: #0a6b2b; }
  [hidden] { display: none !important; }
`;

/** The console's code: plain browser JavaScript, no dependencies. */
const ADMIN_SCRIPT = `
(() => {
  'use strict';
  const STORE = 'dotmac-ws-admin-key';
  const POLL_MS = ${ADMIN_POLL_MS};
  const POINTS = 60;
  const $ = (id) => document.getElementById(id);
  let timer = null;
  let polling = false;
  let last = null; // { at, sent: Map<node_id, messages_sent> }
  const rates = [];

  function fail(status, code, message) {
    const e = new Error(message);
    e.status = status;
    e.code = code;
    return e;
  }
  async function api(method, path, body) {
    const init = { method, cache: 'no-store', headers: { authorization: 'Bearer ' + sessionStorage.getItem(STORE) } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      throw fail(0, 'network', 'the gateway did not answer');
    }
    let json = null;
    try { json = await res.json(); } catch { json = null; }
    if (!res.ok) {
      const e = (json && json.error) || {};
      throw fail(res.status, e.code || 'http_' + res.status, e.message || 'HTTP ' + res.status);
    }
    return json;
  }
  function explain(e) {
    if (e.status === 401) return 'that key was refused (401)';
    if (e.status === 403) return 'that key may only publish: sign in with an admin key (403)';
    if (e.status === 404) return 'the HTTP API is off on this gateway (404)';
    return e.code + ': ' + e.message;
  }
  function say(id, text, ok) {
    $(id).textContent = text;
    $(id).className = ok ? 'ok' : 'bad';
  }
  function cell(text, numeric) {
    const td = document.createElement('td');
    td.textContent = text;
    if (numeric) td.className = 'n';
    return td;
  }
  function uptime(s) {
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }
  const mb = (bytes) => (bytes / 1048576).toFixed(1) + ' MB';
  const rate = (r) => (r === null ? '…' : r.toFixed(1));

  function showNodes(info) {
    const now = Date.now();
    const sent = new Map(info.nodes.map((n) => [n.node_id, n.messages_sent]));
    let total = null;
    const rows = info.nodes.map((n) => {
      let r = null;
      const before = last && last.sent.get(n.node_id);
      if (before !== undefined && before !== null && now > last.at) {
        r = Math.max(0, (n.messages_sent - before) / ((now - last.at) / 1000));
        total = (total || 0) + r;
      }
      const tr = document.createElement('tr');
      tr.dataset.node = n.node_id;
      tr.append(
        cell(n.node_id), cell(n.version), cell(uptime(n.uptime_s), true), cell(String(n.sessions), true),
        cell(String(n.subscriptions), true), cell(rate(r), true), cell(mb(n.memory_rss), true),
      );
      return tr;
    });
    $('nodes').replaceChildren(...rows);
    const sessions = info.nodes.reduce((s, n) => s + n.sessions, 0);
    const missing = info.missing && info.missing.length > 0 ? '; not answering: ' + info.missing.join(', ') : '';
    $('summary').textContent = info.nodes.length + ' node' + (info.nodes.length === 1 ? '' : 's') + ', ' + sessions + ' session' + (sessions === 1 ? '' : 's') + missing;
    last = { at: now, sent };
    if (total !== null) {
      rates.push(total);
      if (rates.length > POINTS) rates.shift();
      drawChart();
    }
  }
  function drawChart() {
    const max = Math.max(1, ...rates);
    const step = 600 / (Math.max(2, rates.length) - 1);
    const points = rates.map((r, i) => (i * step).toFixed(1) + ',' + (98 - (r / max) * 90).toFixed(1));
    $('line').setAttribute('points', points.join(' '));
    $('chart-max').textContent = 'now ' + rates[rates.length - 1].toFixed(1) + ', peak ' + Math.max(...rates).toFixed(1);
  }
  function showChannels(answer) {
    const busiest = Object.entries(answer.channels).sort((a, b) => b[1].num_clients - a[1].num_clients || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
    const rows = busiest.map(([name, c]) => {
      const tr = document.createElement('tr');
      tr.dataset.channel = name;
      tr.append(cell(name), cell(String(c.num_clients), true));
      return tr;
    });
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      tr.append(cell('no channel has subscribers'), cell(''));
      rows.push(tr);
    }
    $('channels').replaceChildren(...rows);
  }
  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const [info, channels] = await Promise.all([api('GET', '/api/info'), api('POST', '/api/channels', {})]);
      showNodes(info);
      showChannels(channels);
      $('error').textContent = '';
    } catch (e) {
      if (e.status === 401 || e.status === 403) signOut(explain(e));
      else $('error').textContent = explain(e);
    } finally {
      polling = false;
    }
  }
  async function signIn() {
    try {
      showNodes(await api('GET', '/api/info'));
    } catch (e) {
      signOut(explain(e));
      return;
    }
    $('signin').hidden = true;
    $('console').hidden = false;
    $('signout').hidden = false;
    $('who').textContent = 'signed in';
    $('signin-error').textContent = '';
    await poll();
    timer = setInterval(poll, POLL_MS);
  }
  function signOut(why) {
    sessionStorage.removeItem(STORE);
    if (timer !== null) clearInterval(timer);
    timer = null;
    last = null;
    rates.length = 0;
    $('console').hidden = true;
    $('signout').hidden = true;
    $('signin').hidden = false;
    $('who').textContent = '';
    $('signin-error').textContent = why || '';
  }

  $('signin').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(STORE, $('key').value.trim());
    $('key').value = '';
    signIn();
  });
  $('signout').addEventListener('click', () => signOut(''));
  $('publish').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = $('pub-data').value.trim();
    let data = null;
    try {
      if (text !== '') data = JSON.parse(text);
    } catch {
      say('publish-result', 'data must be JSON, e.g. {"text":"hello"} or "hello"', false);
      return;
    }
    const channel = $('pub-channel').value.trim();
    try {
      const r = await api('POST', '/api/publish', { channel, type: $('pub-type').value.trim() || 'message', data });
      const at = r.offset === undefined ? '' : ' at offset ' + r.offset;
      say('publish-result', 'published to ' + channel + at + ' (' + r.delivered_local + ' subscriber(s) on this node)', true);
    } catch (e) {
      say('publish-result', explain(e), false);
    }
  });
  $('disconnect').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = $('dis-user').value.trim();
    try {
      await api('POST', '/api/disconnect', { user_id: user });
      say('disconnect-result', 'disconnected ' + user + ' on every node (4403)', true);
    } catch (e) {
      say('disconnect-result', explain(e), false);
    }
  });
  if (sessionStorage.getItem(STORE)) signIn();
})();
`;

/**
 * What the console's page may do: run its own inline script and style (by hash, nothing else),
 * talk to this gateway, and nothing more.
 */
export const ADMIN_CSP = [
  "default-src 'none'",
  "connect-src 'self'",
  'img-src data:',
  `style-src '${sha256(ADMIN_STYLE)}'`,
  `script-src '${sha256(ADMIN_SCRIPT)}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text).digest('base64')}`;
}

/**
 * The admin console: one page without dependencies that signs in with an API key (kept in
 * `sessionStorage`, sent as `Authorization: Bearer`) and, every {@link ADMIN_POLL_MS}, shows the
 * nodes (`GET /api/info`: sessions, subscriptions, messages/s from the `messages_sent` deltas
 * between polls, memory), the busiest channels (`POST /api/channels`) and a chart of the
 * cluster's message rate; it publishes (`POST /api/publish`) and disconnects a user (`POST
 * /api/disconnect`). What the API answers is shown with `textContent`, never as HTML.
 */
export function adminHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dotmac-ws admin</title>
<link rel="icon" href="data:,">
<style>${ADMIN_STYLE}</style>
</head>
<body>
<header>
  <h1>dotmac-ws admin</h1>
  <span id="who"></span>
  <button id="signout" hidden>Sign out</button>
</header>
<form id="signin" class="action">
  <label for="key">API key</label>
  <input id="key" type="password" autocomplete="off" size="40" required>
  <button>Sign in</button>
  <span id="signin-error" class="bad" role="alert" data-testid="signin-error"></span>
</form>
<main id="console" hidden>
  <p id="error" class="bad" role="alert" data-testid="error"></p>
  <h2>Nodes <small id="summary" data-testid="summary"></small></h2>
  <table>
    <thead><tr><th>Node</th><th>Version</th><th class="n">Uptime</th><th class="n">Sessions</th><th class="n">Subscriptions</th><th class="n">Messages/s</th><th class="n">Memory</th></tr></thead>
    <tbody id="nodes" data-testid="nodes"></tbody>
  </table>
  <h2>Messages/s, whole cluster <small id="chart-max"></small></h2>
  <svg id="chart" data-testid="chart" viewBox="0 0 600 100" preserveAspectRatio="none" role="img" aria-label="messages per second">
    <polyline id="line" fill="none" stroke="#2060c0" stroke-width="2" points=""></polyline>
  </svg>
  <div class="grid">
    <section>
      <h2>Busiest channels</h2>
      <table>
        <thead><tr><th>Channel</th><th class="n">Subscribers</th></tr></thead>
        <tbody id="channels" data-testid="channels"></tbody>
      </table>
    </section>
    <section>
      <h2>Publish</h2>
      <form id="publish" class="action">
        <input id="pub-channel" aria-label="channel" placeholder="channel" value="news" required size="14">
        <input id="pub-type" aria-label="type" placeholder="type" value="message" size="10">
        <input id="pub-data" aria-label="data" placeholder="data (JSON)" value='{"text":"hello"}' size="22">
        <button>Publish</button>
      </form>
      <p id="publish-result" role="status" data-testid="publish-result"></p>
      <h2>Disconnect a user</h2>
      <form id="disconnect" class="action">
        <input id="dis-user" aria-label="user id" placeholder="user id" required size="20">
        <button>Disconnect</button>
      </form>
      <p id="disconnect-result" role="status" data-testid="disconnect-result"></p>
    </section>
  </div>
</main>
<script>${ADMIN_SCRIPT}</script>
</body>
</html>
`;
}

/** Serves `GET /admin` (the console). Returns false for other paths and methods. */
export function createAdminHandler(): (req: IncomingMessage, res: ServerResponse) => boolean {
  const html = adminHtml();
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path !== ADMIN_PATH && path !== `${ADMIN_PATH}/`) return false;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': ADMIN_CSP,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : html);
    return true;
  };
}

// Load for frames-per-second.mjs, in its own process: `node load-client.mjs <url> <clients>
// <frames per client> <window>`. Each client keeps <window> pings in flight until it has sent
// its share; prints {"frames", "ms", "errors"} as JSON once every reply is in.
import WebSocket from 'ws';

const [url, clients, perClient, window] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v)));
let done = 0;
let errors = 0;
let t0 = 0;

function run() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let sent = 0;
    let got = 0;
    const send = () => ws.send(`{"type":"ping","id":${sent++}}`);
    ws.on('error', reject);
    ws.on('message', (buf) => {
      const s = buf.toString();
      if (s.startsWith('{"type":"welcome"')) {
        resolve({
          start: () => {
            for (let i = 0; i < window; i++) send();
          },
          ws,
        });
        return;
      }
      got++;
      if (s.startsWith('{"type":"error"')) errors++;
      if (sent < perClient) send();
      if (got === perClient) {
        done++;
        if (done === clients) {
          process.stdout.write(
            `${JSON.stringify({ frames: clients * perClient, ms: performance.now() - t0, errors })}\n`,
          );
          process.exit(0);
        }
      }
    });
  });
}

const conns = await Promise.all(Array.from({ length: clients }, run));
t0 = performance.now();
for (const c of conns) c.start();
setTimeout(() => process.exit(2), 60_000).unref();

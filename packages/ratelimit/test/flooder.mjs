// A flooding client in its own process, so that its own sending and parsing do not share the
// test's event loop: `node flooder.mjs <url> <localAddress> <frames>`. Prints "ready", waits for
// "go" on stdin, sends every frame at once, then prints as JSON the reply counts and when (ms
// since the epoch, sub-millisecond) the first frame was sent and the last reply came, and exits.
import WebSocket from 'ws';

const [url, localAddress, count] = process.argv.slice(2);
const total = Number(count);
const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
const now = () => performance.timeOrigin + performance.now();
let sentAt = 0;
let replies = 0;
let performed = 0;
ws.on('message', (buf) => {
  const f = JSON.parse(buf.toString());
  if (f.type === 'welcome') {
    process.stdout.write('ready\n');
    return;
  }
  replies++;
  if (f.type === 'pong') performed++;
  if (replies === total) {
    const lastReplyAt = now();
    process.stdout.write(
      `${JSON.stringify({ performed, refused: replies - performed, sentAt, lastReplyAt })}\n`,
    );
    ws.close();
  }
});
ws.on('close', () => process.exit(0));
ws.on('error', (e) => {
  process.stderr.write(String(e));
  process.exit(1);
});
process.stdin.on('data', (d) => {
  if (!String(d).includes('go')) return;
  sentAt = now();
  for (let i = 0; i < total; i++) ws.send(JSON.stringify({ type: 'ping', id: i }));
});
setTimeout(() => process.exit(2), 20_000).unref();

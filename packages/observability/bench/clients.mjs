// Opens N WebSocket clients subscribed to one channel and counts what they receive.
// stdin: "expect <n>" -> prints "armed", then "done <ms>" once n deliveries (in total) have arrived.
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const [url, n] = [process.argv[2], Number(process.argv[3])];
let received = 0;
let target = Number.POSITIVE_INFINITY;
let startedAt = 0;
const sockets = [];
await Promise.all(
  Array.from({ length: n }, () => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(ws);
    return new Promise((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (buf) => {
        const text = buf.toString();
        if (text.includes('"type":"ack"')) return resolve();
        if (text.includes('"type":"welcome"'))
          return ws.send(JSON.stringify({ type: 'subscribe', id: 1, channel: 'bench' }));
        received++;
        if (received >= target) {
          process.stdout.write(`done ${Date.now() - startedAt}\n`);
          target = Number.POSITIVE_INFINITY;
        }
      });
    });
  }),
);
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.split(' ');
  if (cmd === 'expect') {
    received = 0;
    startedAt = Date.now();
    target = Number(arg);
    process.stdout.write('armed\n');
  } else if (cmd === 'exit') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});

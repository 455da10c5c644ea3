// The well-behaved client of the fuzz suite, in a worker thread so that its timing does not
// depend on the fuzzer's own event loop. It sends `ping` every `intervalMs` and reports, as
// they happen, every ping left unanswered for more than `gapMs`, every error reply, and a
// close it did not ask for. See pong-watcher.ts.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

const { url, localAddress, intervalMs, gapMs } = workerData;
const outstanding = new Map();
const flagged = new Set();
let next = 1;
let sent = 0;
let answered = 0;
let maxRttMs = 0;
let stopping = false;
let timer = null;

const violation = (message) => parentPort.postMessage({ kind: 'violation', at: Date.now(), message });

const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
ws.on('error', (error) => {
  if (!stopping) violation(`the well-behaved client's socket failed: ${error.message}`);
});
ws.on('close', (code, reason) => {
  clearInterval(timer);
  if (!stopping) violation(`the well-behaved client was closed by the server: ${code} ${reason.toString()}`);
});
ws.on('message', (data) => {
  let frame;
  try {
    frame = JSON.parse(data.toString());
  } catch {
    violation(`the well-behaved client got a frame that is not JSON: ${data.toString().slice(0, 200)}`);
    return;
  }
  if (frame.type === 'welcome') {
    parentPort.postMessage({ kind: 'welcome' });
    timer = setInterval(tick, intervalMs);
    return;
  }
  if (frame.type === 'pong' && outstanding.has(frame.id)) {
    const rtt = Date.now() - outstanding.get(frame.id);
    outstanding.delete(frame.id);
    answered++;
    if (rtt > maxRttMs) maxRttMs = rtt;
    if (rtt > gapMs && !flagged.has(frame.id)) violation(`ping #${frame.id} was answered after ${rtt} ms`);
    return;
  }
  violation(`the well-behaved client got an unexpected frame: ${data.toString().slice(0, 300)}`);
});

function tick() {
  const now = Date.now();
  for (const [id, at] of outstanding) {
    if (now - at > gapMs && !flagged.has(id)) {
      flagged.add(id);
      violation(`ping #${id} has had no pong for ${now - at} ms`);
    }
  }
  if (stopping || ws.readyState !== WebSocket.OPEN) return;
  const id = next++;
  outstanding.set(id, now);
  sent++;
  ws.send(JSON.stringify({ type: 'ping', id }));
}

parentPort.on('message', (msg) => {
  if (msg.kind !== 'stop') return;
  stopping = true;
  const deadline = Date.now() + gapMs;
  const finish = () => {
    if (outstanding.size > 0 && Date.now() < deadline && ws.readyState === WebSocket.OPEN) {
      setTimeout(finish, 20);
      return;
    }
    clearInterval(timer);
    for (const id of outstanding.keys()) {
      if (!flagged.has(id)) violation(`ping #${id} never got its pong`);
    }
    parentPort.postMessage({ kind: 'summary', sent, answered, maxRttMs });
    ws.terminate();
  };
  finish();
});

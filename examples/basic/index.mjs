// @ts-check
// A dotmac-ws gateway embedded in a few lines: @dotmac-ws/core only, a custom message handler
// and broadcasts. Run it with `node examples/basic/index.mjs` (after `pnpm build`).
import { createDevelopmentConfig, ProtocolError, WebSocketGateway } from '@dotmac-ws/core';

const port = Number(process.env.WS_PORT ?? 8765);
const gateway = new WebSocketGateway(createDevelopmentConfig({ host: '127.0.0.1', port }));

// A frame type of our own: {"type":"shout","id":1,"data":{"channel":"lobby","text":"hi"}}.
// It broadcasts the text in capitals to the channel; the return value is the ack's data.
gateway.addMessageHandler('shout', async (session, data) => {
  const { channel, text } = /** @type {{ channel?: unknown, text?: unknown }} */ (data ?? {});
  if (typeof channel !== 'string' || typeof text !== 'string')
    throw new ProtocolError('bad_request', 'shout needs {channel, text} as strings');
  const delivered = await gateway.broadcastToChannel(channel, 'shout', {
    from: session.sessionId,
    text: text.toUpperCase(),
  });
  return { delivered };
});

await gateway.start();
const address = gateway.address();
console.log(`basic example: ws://${address?.host}:${address?.port}/ws (channel "clock" ticks every second)`);

// A broadcast from the server side: the time, every second, to whoever subscribed to "clock".
const clock = setInterval(() => {
  gateway.broadcastToChannel('clock', 'tick', { now: new Date().toISOString() }).catch(console.error);
}, 1000);

// Ctrl-C or SIGTERM: stop ticking, drain the sessions (close 1001), exit.
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, async () => {
    clearInterval(clock);
    await gateway.stop();
    process.exit(0);
  });
}

// The opening of every connection of the scale section (its client processes and its warm-up):
// wait for the server's first frame (the welcome), subscribe to one channel, wait for the answer.
// Frames are read in place: `{"type":"ack"...` or `{"type":"error"...` tell by their 10th byte.

const SUBSCRIBE_ID = 1;

/**
 * Waits for `ws`'s (a LeanSocket's) welcome, hands it to `onWelcome` (a view: copy what you
 * keep), subscribes to `channel` and resolves on its ack. Rejects with `no_welcome`, `no_ack`,
 * `closed_before_welcome`, `closed_before_ack` or `subscribe_error`.
 */
export function subscribeAfterWelcome(ws, channel, timeoutMs, onWelcome = () => {}) {
  return new Promise((resolve, reject) => {
    let welcomed = false;
    const timer = setTimeout(() => reject(welcomed ? 'no_ack' : 'no_welcome'), timeoutMs);
    ws.onClose = () => {
      clearTimeout(timer);
      reject(welcomed ? 'closed_before_ack' : 'closed_before_welcome');
    };
    ws.onMessage = (data) => {
      if (!welcomed) {
        welcomed = true;
        onWelcome(data);
        ws.send(`{"type":"subscribe","id":${SUBSCRIBE_ID},"data":{"channel":"${channel}"}}`);
        return;
      }
      if (data[9] === 97 /* a */) {
        clearTimeout(timer);
        resolve();
      } else if (data[9] === 101 /* e */) {
        clearTimeout(timer);
        reject('subscribe_error');
      }
    };
  });
}

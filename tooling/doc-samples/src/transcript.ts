import WebSocket from 'ws';

/** `text` as a regular expression matching it exactly, where `…` stands for any run of characters. */
function pattern(text: string): RegExp {
  return new RegExp(
    `^${text
      .split('…')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*?')}$`,
  );
}

/**
 * Plays a WebSocket transcript (lines `> frame` to send, `< frame` to receive, in order; `…`
 * matches anything) on a fresh connection to `url`. The `welcome` is matched only when the first
 * line expects it, else skipped. Rejects with the first line that did not happen.
 */
export async function playTranscript(url: string, text: string, timeoutMs: number): Promise<void> {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const ws = new WebSocket(url);
  const received: string[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (d) => {
    received.push(d.toString());
    wake?.();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const deadline = Date.now() + timeoutMs;
    if (!lines[0]?.startsWith('< {"type":"welcome"')) {
      await next();
      received.shift();
    }
    for (const [i, line] of lines.entries()) {
      const frame = line.slice(2);
      if (line.startsWith('> ')) ws.send(frame);
      else if (line.startsWith('< ')) {
        await next();
        const got = received.shift()!;
        if (!pattern(frame).test(got))
          throw new Error(`transcript line ${i + 1} expected\n  ${frame}\nbut the gateway sent\n  ${got}`);
      } else throw new Error(`transcript line ${i + 1} starts with neither '> ' nor '< ': ${line}`);
    }

    /** Resolves once a frame is waiting; rejects at the deadline. */
    async function next(): Promise<void> {
      while (received.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no frame from the gateway within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  } finally {
    ws.terminate();
  }
}

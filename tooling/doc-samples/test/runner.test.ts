import { describe, expect, it } from 'vitest';
import { parseSamples } from '../src/parse-samples';
import { runDocument } from '../src/run-document';

/** A document made of `lines`, parsed as `x.md`. */
const doc = (...lines: string[]) => parseSamples('x.md', lines.join('\n'));

describe('parseSamples', () => {
  it('takes tagged fences (also inside HTML comments) and checkpoint markers, with their lines and attributes', () => {
    const samples = doc(
      '# Title',
      '```sh',
      'not tagged',
      '```',
      '```sh runnable background=web ready="http://127.0.0.1:8765/ready" redis',
      'echo hi',
      '```',
      '<!--',
      '  ```js runnable file=a/b.mjs',
      '  export const x = 1;',
      '  ```',
      '-->',
      '<!-- runnable-check: step-2 -->',
      '````md',
      '```sh runnable',
      'inside another fence: text',
      '```',
      '````',
    );
    expect(samples.map((s) => [s.line, s.lang, Object.fromEntries(s.attrs), s.code])).toEqual([
      [5, 'sh', { background: 'web', ready: 'http://127.0.0.1:8765/ready', redis: true }, 'echo hi\n'],
      [9, 'js', { file: 'a/b.mjs' }, 'export const x = 1;\n'],
      [13, 'check', {}, 'step-2'],
    ]);
  });

  it('names the line of a runnable fence that is never closed', () => {
    expect(() => doc('text', '```sh runnable', 'echo')).toThrow('x.md:2: the runnable fence is never closed');
  });
});

describe('runDocument', () => {
  it('runs files, scripts and background processes in order, with the documented ports moved', async () => {
    const seen: number[] = [];
    await runDocument(
      doc(
        '```json runnable file=data/port.json',
        '{ "port": 8765 }',
        '```',
        '```js runnable background=web ready=8765',
        "import { createServer } from 'node:http';",
        "createServer((q, s) => s.end('up')).listen(8765, '127.0.0.1');",
        '```',
        '```ts runnable expect="got up"',
        "import { readFileSync } from 'node:fs';",
        "const { port }: { port: number } = JSON.parse(readFileSync('data/port.json', 'utf8'));",
        "console.log('got', await (await fetch('http://127.0.0.1:' + port + '/')).text());",
        '```',
        '<!-- runnable-check: moved -->',
        '```sh runnable stop=web',
        '! curl -sf http://127.0.0.1:8765/',
        '```',
      ),
      {
        checkpoints: {
          moved: async (ctx) => {
            seen.push(ctx.port(8765));
            expect(await (await fetch(`http://127.0.0.1:${ctx.port(8765)}/`)).text()).toBe('up');
          },
        },
      },
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toBe(8765);
  });

  it('fails at the first broken sample, naming its file and line and showing its output', async () => {
    const run = runDocument(
      doc('```sh runnable', 'echo fine', '```', '```sh runnable', 'echo oops >&2; exit 3', '```'),
    );
    await expect(run).rejects.toThrow(
      /^x\.md:4: sh sample exited with 3\n--- output \(last 4 KiB\) ---\noops/,
    );
  });

  it('fails a sample that does not print what it expects, one that throws, one that does not compile', async () => {
    await expect(runDocument(doc('```sh runnable expect=world', 'echo hello', '```'))).rejects.toThrow(
      'x.md:1: sh sample did not print "world"',
    );
    await expect(
      runDocument(doc('```js runnable', "throw new Error('broken sample')", '```')),
    ).rejects.toThrow(/x\.md:1: js sample exited with 1[\s\S]*broken sample/);
    await expect(runDocument(doc('```ts runnable', 'const x: = 1;', '```'))).rejects.toThrow(
      'x.md:1: ts sample does not compile',
    );
  });

  it('refuses an attribute it does not know (a typo would otherwise be ignored)', async () => {
    await expect(runDocument(doc('```sh runnable backgroud=web', 'true', '```'))).rejects.toThrow(
      'x.md:1: sh sample has unknown attributes: backgroud',
    );
  });

  it('ends a sample at its timeout, and a background one that never gets ready', async () => {
    const started = Date.now();
    await expect(runDocument(doc('```sh runnable timeout=300', 'sleep 30', '```'))).rejects.toThrow(
      'x.md:1: sh sample still running after 300 ms',
    );
    await expect(
      runDocument(doc('```sh runnable background=idle ready=8766 timeout=300', 'sleep 30', '```')),
    ).rejects.toThrow(/^x\.md:1: sh sample did not get ready: \d+ did not answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('gives a sample the reference gateway it asks for, with its variables', async () => {
    await runDocument(
      doc(
        '```sh runnable gateway="API_KEY=k1"',
        'curl -sf http://127.0.0.1:8765/api/publish -H \'authorization: Bearer k1\' -d \'{"channel":"news","type":"t","data":1}\'',
        '```',
      ),
    );
    await expect(
      runDocument(doc('```sh runnable', 'curl -sf http://127.0.0.1:8765/ready', '```')),
    ).rejects.toThrow('x.md:1: sh sample exited with 7');
  });
});

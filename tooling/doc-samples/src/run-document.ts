import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { transform } from 'esbuild';
import type { BrowserRun } from './browser-sample';
import { type DocSample, where } from './parse-samples';
import { PortMap } from './port-map';
import { SampleProcess } from './sample-process';
import { playTranscript } from './transcript';
import { createWorkDir, PACKAGE_DIR, REPO_ROOT } from './work-dir';

/** How long one sample may run (or a background one take to be ready) unless it says `timeout=`. */
export const DEFAULT_TIMEOUT_MS = 20_000;

/** What a checkpoint (`<!-- runnable-check: NAME -->`) is handed. */
export interface CheckContext {
  /** The document's folder that stands for the checkout root. */
  readonly workDir: string;
  /** The real port standing for a documented one (8765, 8766, 8080, 8000). */
  port(doc: number): number;
  /** The output of the background process `name` so far. */
  output(name: string): string;
  /** Stops the background process `name` (SIGTERM to its group). */
  stop(name: string): Promise<void>;
  /** Starts the stopped background sample `name` again, as it was; resolves once it is ready. */
  start(name: string): Promise<void>;
}

/** A checkpoint: checks made by a test at a marked point of a document. */
export type Checkpoint = (ctx: CheckContext) => Promise<void>;

/** Options of {@link runDocument}. */
export interface RunOptions {
  /** Checkpoints by name; a marker without one fails. */
  checkpoints?: Readonly<Record<string, Checkpoint>>;
  /** Browser samples (` ```html runnable browser `) run here; without it they fail. */
  browser?: BrowserRun;
  /** Told of every sample before it runs (for a test log). */
  onSample?: (sample: DocSample) => void;
}

/** A sample that failed: its location, what went wrong and what it printed. */
export class SampleError extends Error {
  constructor(sample: DocSample, problem: string, output = '') {
    const tail = output.trim() === '' ? '' : `\n--- output (last 4 KiB) ---\n${output.slice(-4096)}`;
    super(`${where(sample)}: ${sample.lang} sample ${problem}${tail}`);
    this.name = 'SampleError';
  }
}

const SHELLS = new Set(['sh', 'bash', 'shell']);
const SCRIPTS = new Set(['js', 'mjs', 'javascript', 'ts', 'typescript']);

/**
 * Runs one document's runnable samples in order, in a fresh folder standing for the checkout root
 * (see {@link createWorkDir}), with the documented ports moved to free ones (see {@link PortMap}).
 * Throws a {@link SampleError} naming `file:line` at the first sample that fails. Whatever it
 * started is stopped before it returns.
 */
export async function runDocument(samples: readonly DocSample[], options: RunOptions = {}): Promise<void> {
  const ports = await PortMap.create();
  const work = createWorkDir();
  const background = new Map<string, SampleProcess>();
  const preludes = new Map<string, string>();
  const starters = new Map<string, () => Promise<void>>();
  const env = sampleEnv(ports);
  const ctx: CheckContext = {
    workDir: work.dir,
    port: (doc) => ports.port(doc),
    output: (name) => background.get(name)?.output() ?? '',
    stop: async (name) => {
      await background.get(name)?.stop();
      background.delete(name);
    },
    start: async (name) => {
      const start = starters.get(name);
      if (start === undefined) throw new Error(`no background sample '${name}' to start again`);
      if (background.has(name)) throw new Error(`'${name}' is running`);
      await start();
    },
  };
  try {
    for (const sample of samples) {
      options.onSample?.(sample);
      await runSample(sample, {
        ports,
        workDir: work.dir,
        env,
        background,
        preludes,
        starters,
        ctx,
        options,
      });
    }
  } finally {
    await Promise.all([...background.values()].map((p) => p.stop()));
    work.remove();
  }
}

/** The environment of every sample process: the checkout's tools first on PATH, the documented defaults. */
function sampleEnv(ports: PortMap): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of ['NODE_OPTIONS', 'VITEST', 'VITEST_WORKER_ID', 'VITEST_POOL_ID', 'TEST', 'NODE_ENV'])
    delete env[k];
  return {
    ...env,
    PATH: [join(PACKAGE_DIR, 'bin'), join(PACKAGE_DIR, 'node_modules/.bin'), env.PATH ?? ''].join(delimiter),
    // `pnpm start` with no WS_PORT listens on 8765: here, on the port standing for it.
    WS_PORT: String(ports.port(8765)),
    WS_HOST: '127.0.0.1',
    // Documents share the Redis of the machine: each run gets keys of its own.
    REDIS_KEY_PREFIX: `doc-samples:${randomUUID()}:`,
  };
}

interface SampleRun {
  ports: PortMap;
  workDir: string;
  env: Record<string, string>;
  background: Map<string, SampleProcess>;
  /** Code of the `define=NAME` blocks so far, by name. */
  preludes: Map<string, string>;
  /** How to start each background sample (again), by name. */
  starters: Map<string, () => Promise<void>>;
  ctx: CheckContext;
  options: RunOptions;
}

/** An attribute as text (documented ports rewritten), or undefined. */
function attr(sample: DocSample, key: string, ports: PortMap): string | undefined {
  const v = sample.attrs.get(key);
  return typeof v === 'string' ? ports.rewrite(v) : undefined;
}

/** The attributes a runnable block may have (CONTRIBUTING.md); any other is a typo, and fails. */
const ATTRIBUTES = new Set([
  'background',
  'browser',
  'define',
  'expect',
  'file',
  'gateway',
  'prelude',
  'ready',
  'redis',
  'stop',
  'timeout',
  'ws',
]);

/** The names in a comma-separated attribute (`stop=a,b`). */
function names(sample: DocSample, key: string, ports: PortMap): string[] {
  return (attr(sample, key, ports) ?? '').split(',').filter(Boolean);
}

/** Runs one sample (or checkpoint) of a document, after stopping what it says to stop. */
async function runSample(sample: DocSample, run: SampleRun): Promise<void> {
  const unknown = [...sample.attrs.keys()].filter((k) => !ATTRIBUTES.has(k));
  if (unknown.length > 0) throw new SampleError(sample, `has unknown attributes: ${unknown.join(', ')}`);
  for (const name of names(sample, 'stop', run.ports)) {
    const proc = run.background.get(name);
    if (proc === undefined) throw new SampleError(sample, `stops '${name}', which is not running`);
    await proc.stop();
    run.background.delete(name);
  }
  if (sample.lang === 'check') return runCheckpoint(sample, run);
  let code = run.ports.rewrite(sample.code);
  for (const name of names(sample, 'prelude', run.ports)) {
    const prelude = run.preludes.get(name);
    if (prelude === undefined)
      throw new SampleError(sample, `uses prelude '${name}', defined by no block above`);
    code = `${prelude}${code}`;
  }
  const define = attr(sample, 'define', run.ports);
  const file = attr(sample, 'file', run.ports);
  const socket = attr(sample, 'ws', run.ports);
  const timeoutMs = Number(attr(sample, 'timeout', run.ports) ?? DEFAULT_TIMEOUT_MS);
  const failing = (error: Error) => {
    throw error instanceof SampleError ? error : new SampleError(sample, error.message);
  };
  if (define !== undefined) run.preludes.set(define, code);
  else if (file !== undefined) {
    const path = join(run.workDir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, code);
  } else if (sample.attrs.has('browser')) {
    const browser = run.options.browser;
    if (browser === undefined) throw new SampleError(sample, 'needs a browser the test did not give');
    const expected = attr(sample, 'expect', run.ports);
    await withGateway(sample, run, () => browser(code, run.workDir, expected, timeoutMs).catch(failing));
  } else if (socket !== undefined) {
    await withGateway(sample, run, () => playTranscript(socket, code, timeoutMs).catch(failing));
  } else {
    const command = await commandOf(sample, code, run.workDir);
    if (sample.attrs.has('background')) await startBackground(sample, run, command, timeoutMs);
    else await withGateway(sample, run, () => runToEnd(sample, run, command, timeoutMs));
  }
}

/** Calls the test's check for a `<!-- runnable-check: NAME -->` marker. */
async function runCheckpoint(sample: DocSample, run: SampleRun): Promise<void> {
  const check = run.options.checkpoints?.[sample.code];
  if (check === undefined) throw new SampleError(sample, `checkpoint '${sample.code}' has no handler`);
  try {
    await check(run.ctx);
  } catch (error) {
    throw new SampleError(sample, `checkpoint '${sample.code}' failed: ${(error as Error).stack ?? error}`);
  }
}

/** Starts a `background` sample and waits until it is ready; it can be started again by name. */
async function startBackground(
  sample: DocSample,
  run: SampleRun,
  [command, args]: [string, string[]],
  timeoutMs: number,
): Promise<void> {
  const name = sample.attrs.get('background');
  const label = typeof name === 'string' ? name : `line-${sample.line}`;
  if (run.background.has(label)) throw new SampleError(sample, `starts '${label}', which is running already`);
  const ready = attr(sample, 'ready', run.ports);
  if (ready === undefined)
    throw new SampleError(sample, 'is background but has no ready=PORT, ready=URL or ready="text"');
  const start = async () => {
    const proc = SampleProcess.start(label, command, args, run.workDir, run.env);
    run.background.set(label, proc);
    try {
      await proc.whenReady(ready, timeoutMs);
    } catch (error) {
      throw new SampleError(sample, `did not get ready: ${(error as Error).message}`, proc.output());
    }
  };
  run.starters.set(label, start);
  await start();
}

/** Runs a sample until it exits; it must exit 0 within `timeoutMs` and print what it `expect`s. */
async function runToEnd(
  sample: DocSample,
  run: SampleRun,
  [command, args]: [string, string[]],
  timeoutMs: number,
): Promise<void> {
  const proc = SampleProcess.start(`line-${sample.line}`, command, args, run.workDir, run.env);
  let code: number | null;
  try {
    code = await proc.finished(timeoutMs);
  } catch (error) {
    throw new SampleError(sample, (error as Error).message, proc.output());
  }
  if (code !== 0) throw new SampleError(sample, `exited with ${code}`, proc.output());
  const expected = attr(sample, 'expect', run.ports);
  if (expected !== undefined && !proc.output().includes(expected))
    throw new SampleError(sample, `did not print ${JSON.stringify(expected)}`, proc.output());
}

/**
 * Runs `body` with a reference gateway when the sample says `gateway` (on the port standing for
 * 8765, in the development profile, memory backend; `gateway="KEY=value …"` adds variables),
 * stopped afterwards.
 */
async function withGateway(sample: DocSample, run: SampleRun, body: () => Promise<void>): Promise<void> {
  const spec = sample.attrs.get('gateway');
  if (spec === undefined) return body();
  const extra: Record<string, string> = {};
  for (const pair of (spec === true ? '' : run.ports.rewrite(spec)).split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new SampleError(sample, `gateway="${spec}": expected KEY=value pairs`);
    extra[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const gateway = SampleProcess.start(
    'gateway',
    process.execPath,
    [join(REPO_ROOT, 'apps/gateway/dist/main.js')],
    run.workDir,
    { ...run.env, ...extra },
  );
  try {
    await gateway.whenReady(`http://127.0.0.1:${run.ports.port(8765)}/ready`, 15_000);
  } catch (error) {
    await gateway.stop('SIGKILL', 0);
    throw new SampleError(sample, `'s gateway did not start: ${(error as Error).message}`, gateway.output());
  }
  try {
    await body();
  } finally {
    await gateway.stop();
  }
}

/**
 * The command that runs a sample: a shell sample with `bash -eo pipefail`; a JavaScript or
 * TypeScript sample (types stripped by esbuild) as an ES module in the work folder. A script
 * that is not `background` is ended 300 ms after its top-level code finished (samples leave
 * clients and servers open): it passes if that code did not throw and nothing failed by then.
 */
async function commandOf(sample: DocSample, code: string, workDir: string): Promise<[string, string[]]> {
  const base = join(workDir, `.sample-${sample.line}`);
  if (SHELLS.has(sample.lang)) {
    writeFileSync(`${base}.sh`, code);
    return ['bash', ['-eo', 'pipefail', `${base}.sh`]];
  }
  if (!SCRIPTS.has(sample.lang))
    throw new SampleError(sample, 'cannot run: give it file=PATH, or use sh, js or ts');
  let js = code;
  if (sample.lang.startsWith('t')) {
    try {
      js = (await transform(code, { loader: 'ts', format: 'esm', target: 'node20' })).code;
    } catch (error) {
      throw new SampleError(sample, `does not compile: ${(error as Error).message}`);
    }
  }
  writeFileSync(`${base}.mjs`, js);
  if (sample.attrs.has('background')) return [process.execPath, [`${base}.mjs`]];
  const wrapper =
    "const { pathToFileURL } = await import('node:url'); await import(pathToFileURL(process.argv[1]).href); setTimeout(() => process.exit(0), 300);";
  return [process.execPath, ['--input-type=module', '-e', wrapper, `${base}.mjs`]];
}

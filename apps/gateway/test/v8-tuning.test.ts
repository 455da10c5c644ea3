import { execFileSync } from 'node:child_process';
import { freePort } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { readEnvConfig } from '../src/index';
import { applyV8Tuning, NO_PRETENURING_FLAG } from '../src/v8-tuning';
import { runBin } from './bin-process';

describe('applyV8Tuning', () => {
  it('turns allocation-site pretenuring off by default', () => {
    const set: string[] = [];
    expect(applyV8Tuning(readEnvConfig({}), (f) => set.push(f))).toEqual([NO_PRETENURING_FLAG]);
    expect(set).toEqual(['--no-allocation-site-pretenuring']);
  });

  it('leaves V8 alone with V8_ALLOCATION_SITE_PRETENURING=true', () => {
    const set: string[] = [];
    const env = readEnvConfig({ V8_ALLOCATION_SITE_PRETENURING: 'true' });
    expect(applyV8Tuning(env, (f) => set.push(f))).toEqual([]);
    expect(set).toEqual([]);
  });

  it('refuses a value that is not a boolean, like every bool variable', () => {
    expect(() => readEnvConfig({ V8_ALLOCATION_SITE_PRETENURING: 'sometimes' })).toThrow(
      /V8_ALLOCATION_SITE_PRETENURING is set as 'sometimes' when it must be/,
    );
  });

  it('names a flag this Node knows (an unknown one would be ignored without a word)', () => {
    const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    expect(options).toMatch(/^\s*--allocation-site-pretenuring\b/m);
  });
});

describe('the bin', () => {
  async function startupLog(env: Record<string, string>): Promise<string> {
    const port = await freePort();
    const g = runBin({ WS_PORT: String(port), LOG_LEVEL: 'debug', ...env });
    const deadline = Date.now() + 10_000;
    while (!g.output().includes('"ready"') && Date.now() < deadline) {
      if (g.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    g.child.kill('SIGTERM');
    await g.exited;
    return g.output();
  }

  it('sets the flag before it is ready, and says so at debug', async () => {
    const out = await startupLog({});
    const lines = out.split('\n');
    const flags = lines.findIndex((l) => l.includes('"V8 flags set"'));
    const ready = lines.findIndex((l) => l.includes('"ready"'));
    expect(flags).toBeGreaterThanOrEqual(0);
    expect(lines[flags]).toContain('"v8_flags":["--no-allocation-site-pretenuring"]');
    expect(ready).toBeGreaterThan(flags);
  });

  it('sets nothing with V8_ALLOCATION_SITE_PRETENURING=true', async () => {
    const out = await startupLog({ V8_ALLOCATION_SITE_PRETENURING: 'true' });
    expect(out).toContain('"ready"');
    expect(out).not.toContain('V8 flags set');
  });
});

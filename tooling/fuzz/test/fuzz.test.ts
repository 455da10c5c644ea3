import { describe, expect, it } from 'vitest';
import { readFuzzConfig } from '../src/fuzz-config';
import type { FuzzTarget } from '../src/fuzz-target';
import { budgetMs, failureMessage, runFuzzTarget, targetTimeoutMs } from '../src/run-fuzz-target';
import { framesTarget } from '../src/targets/frames-target';
import { httpTarget } from '../src/targets/http-target';
import { upgradeTarget } from '../src/targets/upgrade-target';

const config = readFuzzConfig();
const TARGETS: readonly FuzzTarget<unknown>[] = [framesTarget, upgradeTarget, httpTarget];

console.log(
  `fuzz: seed ${config.seed} (replay with FUZZ_SEED=${config.seed}), ${config.seconds} s over ${config.targets.join(', ')}`,
);

describe('fuzzing a real reference gateway process', () => {
  for (const target of TARGETS) {
    const budget = budgetMs(target, TARGETS, config);
    it.skipIf(!config.targets.includes(target.name))(
      `${target.name}: ${target.title}`,
      async () => {
        const report = await runFuzzTarget(target, budget, config);
        console.log(report.summary);
        if (report.failures.length > 0) expect.fail(failureMessage(report, config));
        expect(report.inputs).toBeGreaterThan(0);
      },
      targetTimeoutMs(budget, config),
    );
  }
});

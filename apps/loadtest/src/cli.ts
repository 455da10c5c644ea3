import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { helpText, parseCliArgs } from './cli-args';
import { htmlReport } from './html-report';
import { LoadtestOptionsError, LoadtestRunError } from './loadtest-error';
import type { ProgressSnapshot } from './options';
import { runLoad } from './run-load';
import { summaryTable } from './summary-table';

const version = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

function progressLine(p: ProgressSnapshot): string {
  const rate = p.ratePerSec >= 1000 ? `${(p.ratePerSec / 1000).toFixed(1)}k` : String(p.ratePerSec);
  return `\r[${p.elapsedSec.toFixed(0)}s] connections ${p.connections}  ${rate}/s  p99 ${p.p99Ms} ms  errors ${p.errors}   `;
}

async function main(argv: string[]): Promise<number> {
  let request: ReturnType<typeof parseCliArgs>;
  try {
    request = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof LoadtestOptionsError)) throw error;
    process.stderr.write(`dotmac-loadtest: ${error.message}\nSee dotmac-loadtest --help.\n`);
    return 2;
  }
  if (request.help) {
    process.stdout.write(`${helpText(version)}\n`);
    return 0;
  }
  if (request.version) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const live = !request.quiet && process.stderr.isTTY === true;
  try {
    const result = await runLoad({
      ...request.options,
      ...(live ? { onProgress: (p: ProgressSnapshot) => process.stderr.write(progressLine(p)) } : {}),
    });
    if (live) process.stderr.write('\n');
    if (request.html !== null) writeFileSync(request.html, htmlReport(result));
    process.stdout.write(request.json ? `${JSON.stringify(result, null, 2)}\n` : `${summaryTable(result)}\n`);
    return result.slo.passed ? 0 : 1;
  } catch (error) {
    if (live) process.stderr.write('\n');
    if (error instanceof LoadtestOptionsError) {
      process.stderr.write(`dotmac-loadtest: ${error.message}\nSee dotmac-loadtest --help.\n`);
      return 2;
    }
    if (error instanceof LoadtestRunError) {
      process.stderr.write(`dotmac-loadtest: ${error.message}\n`);
      return 3;
    }
    throw error;
  }
}

// `pnpm loadtest -- --help` hands the separator on: drop it.
const args = process.argv.slice(2);
main(args[0] === '--' ? args.slice(1) : args).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `dotmac-loadtest: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 3;
  },
);

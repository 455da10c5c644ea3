import { runCli } from './cli';

runCli(process.argv.slice(2)).then(
  (result) => {
    if (result !== 'running') process.exitCode = result;
  },
  (error: unknown) => {
    // runGateway reports what it expects itself; anything else still ends in one line and exit 1.
    process.stderr.write(
      `dotmac-gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);

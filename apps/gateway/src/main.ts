import { runCli } from './cli';

void runCli(process.argv.slice(2)).then((result) => {
  if (result !== 'running') process.exitCode = result;
});

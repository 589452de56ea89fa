#!/usr/bin/env node
// The `baton` binary: the process's streams, working directory and signals
// handed to runCli(). Ctrl-C stops watching a deploy; its state is journaled,
// and the router and instances keep serving, so running the command again resumes.
import { runCli } from './run-cli.js';

const stop = new AbortController();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\nbaton: ${signal}: stopping here. The router and instances keep serving; run the same command again to resume, or \`baton rollback\`.\n`);
    stop.abort(new Error(`interrupted by ${signal}`));
    // The deploy loop does not watch this signal everywhere yet: leave promptly, the journal has the state.
    setTimeout(() => process.exit(130), 200).unref();
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: { write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY === true },
  stderr: { write: (text) => process.stderr.write(text), isTTY: process.stderr.isTTY === true },
  cwd: process.cwd(),
  env: process.env,
  signal: stop.signal,
});

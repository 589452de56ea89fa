#!/usr/bin/env node
// The `baton` binary: the process's streams, working directory and signals
// handed to runCli(). Ctrl-C stops a deploy at its next safe point without
// rolling back (the router and instances keep serving; the same command
// resumes it); a second Ctrl-C leaves at once — the journal has the state.
import { runCli } from './run-cli.js';

const stop = new AbortController();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\nbaton: ${signal}: stopping at the next safe point (again to leave at once). The router and instances keep serving.\n`);
    stop.abort(new Error(`interrupted by ${signal}`));
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: { write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY === true },
  stderr: { write: (text) => process.stderr.write(text), isTTY: process.stderr.isTTY === true },
  cwd: process.cwd(),
  env: process.env,
  signal: stop.signal,
});

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

/**
 * Writes to `stream` until its reader goes away (`baton deploy | head`):
 * then further output is dropped. A deploy must not die halfway — with
 * instances started and traffic split — because nobody reads its progress.
 */
function output(stream: NodeJS.WriteStream): { write(text: string): void; isTTY: boolean } {
  let gone = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    gone = true;
  });
  return {
    write: (text) => {
      if (!gone) stream.write(text);
    },
    isTTY: stream.isTTY === true,
  };
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: output(process.stdout),
  stderr: output(process.stderr),
  cwd: process.cwd(),
  env: process.env,
  signal: stop.signal,
});

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The `baton` binary of the demo's own `@baton/cli` dependency. */
const BATON_BIN = fileURLToPath(new URL('../../node_modules/@baton/cli/dist/main.js', import.meta.url));

/** What one `baton …` command printed and how it ended. */
export interface BatonCommandResult {
  /** The command as a user types it, e.g. `baton release create`. */
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link createBatonCli}. */
export interface BatonCliOptions {
  /**
   * The project directory: the working directory of each command, where the
   * router and platform packages are found (the demo's own dependencies hold
   * `@baton/platform-docker`), as in a user's project.
   */
  cwd: string;
  /** The config file, passed as `--config` (a user's project has it in `cwd` and omits it: the demo shows the command without it). */
  configFile: string;
  /** Where the command line and everything it prints go as it happens; nowhere by default. */
  write?: (text: string) => void;
  /** Ctrl-C: the command running gets SIGINT, and a deploy stops at its next safe point, as on a terminal. */
  signal?: AbortSignal;
}

/** Runs `baton` commands and echoes them as a user would see them. */
export interface BatonCli {
  /** Runs `baton <args>`; `note` is shown after the command as a shell comment (what the config says at that moment). */
  run(args: readonly string[], note?: string): Promise<BatonCommandResult>;
}

/**
 * The demo goes through the real `baton` binary, each command a process of
 * its own, so what it prints is exactly what a user of the CLI sees — and
 * the orchestrator's work (the engines' API, their event streams) never
 * shares an event loop with the demo's load generator, whose clock must be
 * the clients', not the deployer's: on a busy machine a stalled generator
 * would count its own delay as the deploy's timeouts.
 */
export function createBatonCli(options: BatonCliOptions): BatonCli {
  const write = options.write ?? (() => {});
  return {
    run(args, note) {
      const command = ['baton', ...args].join(' ');
      write(`\n$ ${command}${note === undefined ? '' : `    # ${note}`}\n`);
      return new Promise((resolve, reject) => {
        // Its own process group: Ctrl-C reaches it once, forwarded below (a second SIGINT would make baton leave at once).
        const child = spawn(process.execPath, [BATON_BIN, ...args, '--config', options.configFile], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (text: string) => ((stdout += text), write(text)));
        child.stderr.setEncoding('utf8').on('data', (text: string) => ((stderr += text), write(text)));
        const interrupt = (): void => {
          child.kill('SIGINT');
        };
        options.signal?.addEventListener('abort', interrupt, { once: true });
        child.once('error', (error) => {
          options.signal?.removeEventListener('abort', interrupt);
          reject(error);
        });
        child.once('close', (code, signal) => {
          options.signal?.removeEventListener('abort', interrupt);
          resolve({ command, code: code ?? (signal === null ? 1 : 128), stdout, stderr });
        });
      });
    },
  };
}

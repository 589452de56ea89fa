import { runCli } from '@baton/cli';

/** What one `baton …` command printed and how it ended. */
export interface BatonCommandResult {
  /** The command as a user types it, e.g. `baton release create --release v2`. */
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link createBatonCli}. */
export interface BatonCliOptions {
  /**
   * The project directory: the config's `baton.config.json` is found from
   * here, and so are the router and platform packages (the demo's own
   * dependencies hold `@baton/platform-docker`).
   */
  cwd: string;
  /** The config file, passed as `--config` (a user's project has it in `cwd` and omits it: the demo shows the command without it). */
  configFile: string;
  /** Where the command line and everything it prints go as it happens; nowhere by default. */
  write?: (text: string) => void;
  /** Redraw the live status line in place (a terminal). */
  isTTY?: boolean;
  /** Ctrl-C: a running deploy stops at its next safe point, as the binary's does. */
  signal?: AbortSignal;
}

/** Runs `baton` commands in this process and echoes them as a user would see them. */
export interface BatonCli {
  /** Runs `baton <args>`; `note` is shown after the command as a shell comment (what the config says at that moment). */
  run(args: readonly string[], note?: string): Promise<BatonCommandResult>;
}

/**
 * The demo goes through the real `baton` command (in-process, through
 * `runCli`, the function the binary calls) rather than the packages under it,
 * so what it prints is exactly what a user of the CLI sees.
 */
export function createBatonCli(options: BatonCliOptions): BatonCli {
  const write = options.write ?? (() => {});
  return {
    async run(args, note) {
      const command = ['baton', ...args].join(' ');
      write(`\n$ ${command}${note === undefined ? '' : `    # ${note}`}\n`);
      let stdout = '';
      let stderr = '';
      const code = await runCli([...args, '--config', options.configFile], {
        stdout: { write: (text) => ((stdout += text), write(text)), isTTY: options.isTTY === true },
        stderr: { write: (text) => ((stderr += text), write(text)) },
        cwd: options.cwd,
        env: process.env,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return { command, code, stdout, stderr };
    },
  };
}

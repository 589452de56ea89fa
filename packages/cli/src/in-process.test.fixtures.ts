import { runCli } from './index.js';

/** What one in-process run of the CLI wrote, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `baton <argv>` in-process in the directory `cwd()` names at the time, with an empty environment. */
export function inProcessCli(cwd: () => string): (...argv: string[]) => Promise<CliRun> {
  return async (...argv) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { stdout: { write: (text) => void (stdout += text) }, stderr: { write: (text) => void (stderr += text) }, cwd: cwd(), env: {} });
    return { code, stdout, stderr };
  };
}

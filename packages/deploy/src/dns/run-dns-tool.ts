import { spawn } from 'node:child_process';
import { findExecutable } from '../internal/executable.js';

/** How a run of `nsupdate` or `dig` ended. */
export interface DnsToolResult {
  /** The exit code; null when it could not run or was killed at the timeout. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why it could not run (`ENOENT`: not installed) or was stopped (`ETIMEDOUT`). */
  error?: NodeJS.ErrnoException;
}

/** Runs `program` (`nsupdate` or `dig`) with `args`, feeding `input` to its stdin; never rejects. */
export type DnsToolRunner = (program: string, args: readonly string[], options: { input?: string; timeoutMs: number }) => Promise<DnsToolResult>;

const MAX_OUTPUT = 1 << 20;

/**
 * The default {@link DnsToolRunner}: the program from PATH (or the sbin
 * directories), without a shell, in the C locale, killed after `timeoutMs`.
 * Whatever is secret goes in `input`, never in `args` (which `ps` shows).
 */
export const runDnsTool: DnsToolRunner = (program, args, options) =>
  new Promise((resolve) => {
    const path = findExecutable(program);
    if (path === undefined) {
      resolve({ code: null, stdout: '', stderr: '', error: Object.assign(new Error(`${program} not found`), { code: 'ENOENT' }) });
      return;
    }
    const child = spawn(path, [...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    let error: NodeJS.ErrnoException | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout = (stdout + chunk).slice(0, MAX_OUTPUT)));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(0, MAX_OUTPUT)));
    // A program that exits before reading all of its input closes the pipe: its exit code says why.
    child.stdin.on('error', () => undefined);
    const timer = setTimeout(() => {
      error = Object.assign(new Error(`${program} did not finish within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' });
      child.kill('SIGKILL');
    }, options.timeoutMs);
    let settled = false;
    const finish = (code: number | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(error === undefined ? { code, stdout, stderr } : { code: null, stdout, stderr, error });
    };
    // A program that cannot start (EACCES...) reports 'error' and may never report 'close'.
    child.once('error', (spawnError: NodeJS.ErrnoException) => {
      error ??= spawnError;
      finish(null);
    });
    child.once('close', finish);
    child.stdin.end(options.input ?? '');
  });

// Running a node process under callgrind and reading back what it counted,
// shared by the toggles bench (toggles-compare.ts: a loop per batch) and the
// per-request instruction counts (this folder: requests per batch).
//
// The method: the process calls `os.getPriority()` (libuv's
// `uv_os_getpriority`) as a marker, and callgrind, told
// `--dump-before=uv_os_getpriority`, writes its counts so far to a numbered
// file and starts again from zero. So each stretch of work between two
// markers is one dump, whatever ran before or after it. `--separate-threads`
// gives every thread its own file (`cg.out.<dump>-<thread>`): only the main
// thread's (`-01`) is read, because V8's concurrent compiler and GC threads
// made the all-threads count of the same batch vary by 15%.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The tool line the reports print. */
export const CALLGRIND_TOOL = 'valgrind --tool=callgrind --separate-threads=yes --dump-before=uv_os_getpriority';

/** The marker function: callgrind dumps on entering it; `os.getPriority()` calls it and nothing else does. */
export const MARKER_FUNCTION = 'uv_os_getpriority';

/** Is valgrind there? */
export function hasValgrind(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('valgrind', ['--version'], { timeout: 10_000 }, (error) => resolve(!error));
  });
}

/** Main-thread instructions of every dump of a run, by dump number (1 = from the start to the first marker). */
export type DumpTotals = Map<number, number>;

/** A node process running under callgrind, its dumps going to a directory of their own. */
export interface CallgrindProcess {
  child: ChildProcess;
  /** Resolves once the process has exited (with its exit code), with the main thread's count of every dump; the dumps are removed unless `keep` was given. */
  finished: Promise<{ code: number | null; totals: DumpTotals }>;
}

/** Options of {@link startUnderCallgrind}. */
export interface CallgrindOptions {
  /** stdio of the child (default: stdin and stdout piped, stderr piped). */
  stdio?: ('pipe' | 'ignore' | 'inherit')[];
  /**
   * Copy these dumps (by number, main thread) to `keep.dir` as `<name>` before
   * the rest are removed, for `callgrind_annotate`.
   */
  keep?: { dir: string; dumps: Map<number, string> };
}

/** `valgrind --tool=callgrind ...` arguments for a node process given its own arguments. */
export function callgrindArgs(outFile: string, nodeArgs: readonly string[]): string[] {
  return ['--tool=callgrind', '--separate-threads=yes', `--dump-before=${MARKER_FUNCTION}`, `--callgrind-out-file=${outFile}`, process.execPath, ...nodeArgs];
}

/** Starts `node <nodeArgs>` under callgrind. */
export function startUnderCallgrind(nodeArgs: readonly string[], options: CallgrindOptions = {}): CallgrindProcess {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-callgrind-'));
  const child = spawn('valgrind', callgrindArgs(join(dir, 'cg.out'), nodeArgs), { stdio: options.stdio ?? ['pipe', 'pipe', 'pipe'] });
  const finished = new Promise<{ code: number | null; totals: DumpTotals }>((resolve, reject) => {
    child.once('error', (error) => {
      rmSync(dir, { recursive: true, force: true });
      reject(error);
    });
    child.once('close', (code) => {
      try {
        if (options.keep) keepDumps(dir, options.keep);
        resolve({ code, totals: readDumpTotals(dir) });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
  return { child, finished };
}

/**
 * Runs `node <nodeArgs>` under callgrind to its end (bounded by `timeoutMs`)
 * and resolves with its stdout and the main thread's count of every dump.
 */
export function runUnderCallgrind(nodeArgs: readonly string[], timeoutMs: number): Promise<{ stdout: string; totals: DumpTotals }> {
  const { child, finished } = startUnderCallgrind(nodeArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return finished.then(
    ({ code, totals }) => {
      clearTimeout(timer);
      if (code !== 0) throw new Error(`callgrind: node ${nodeArgs.join(' ').slice(0, 200)} exited with ${code}${stderr ? `\n${lastLines(stderr, 15)}` : ''}`);
      return { stdout, totals };
    },
    (error: unknown) => {
      clearTimeout(timer);
      throw error;
    },
  );
}

/** The main thread's instructions of every dump in `dir` (`cg.out.<n>-01`), by dump number. */
export function readDumpTotals(dir: string): DumpTotals {
  const totals: DumpTotals = new Map();
  for (const file of readdirSync(dir)) {
    const match = /^cg\.out\.(\d+)-01$/.exec(file);
    if (!match) continue;
    const total = /^(?:totals|summary): (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
    if (total) totals.set(Number(match[1]), Number(total[1]));
  }
  return totals;
}

function keepDumps(dir: string, keep: NonNullable<CallgrindOptions['keep']>): void {
  mkdirSync(keep.dir, { recursive: true });
  for (const [dump, name] of keep.dumps) {
    try {
      copyFileSync(join(dir, `cg.out.${dump}-01`), join(keep.dir, name));
    } catch {
      // a dump that is not there is reported by the caller, which finds no total for it
    }
  }
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join('\n');
}

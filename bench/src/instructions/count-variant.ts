// Counting one app's requests: the app in a process of its own under
// callgrind (app-process.ts), this process sending it the fixed sequence
// (request-driver.ts): the checks, a warm-up, then passes of batches, each
// batch between two markers (batch-marker.ts). Every pass also has an empty
// batch (a marker straight after a marker): what the markers themselves cost
// (a line on stdin, a line on stdout), subtracted from every batch.
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { startUnderCallgrind } from './callgrind.js';
import { dumpOfBatch } from './batch-marker.js';
import { RequestDriver } from './request-driver.js';
import { sequencesOf, type KindSequence } from './sequences.js';
import { VARIANT_INFO, type BatchKind, type Family, type Framework, type VariantId } from './variants.js';

/** How much to send. */
export interface CountSettings {
  passes: number;
  /** Requests per batch, per family (each batch kind of the family gets this many). */
  batch: Record<Family, number>;
  /** Warm-up requests per batch kind, per family. */
  warmup: Record<Family, number>;
  /** Young generation of the measured process, MB (per semi-space). */
  semiSpaceMb: number;
  /** Keep every batch's dump here, named `<framework>-<variant>-<pass>-<kind>.callgrind`, the app run with `--perf-basic-prof` (for callgrind_annotate). */
  keepDir?: string;
}

/** A batch kind's counts. */
export interface KindCounts {
  kind: BatchKind;
  route: string;
  requestsPerBatch: number;
  /** Main-thread instructions per request of each batch, the markers' own cost (median empty batch) subtracted, in pass order. */
  perRequest: number[];
  /** Collections that ran inside each batch (none is the design), by V8's names. */
  collections: string[][];
}

export interface VariantCounts {
  framework: Framework;
  variant: VariantId;
  kinds: KindCounts[];
  /** Instructions of the empty batches (the markers alone). */
  empty: number[];
  warmupRequests: number;
  /** One line per distinct request kind: what was checked before counting. */
  checks: string[];
  seconds: number;
}

/** The old generation's initial size in the measured processes, MB. */
const OLD_SPACE_MB = 512;

type Step = { kind: 'empty' } | { kind: BatchKind; sequence: KindSequence };

/** Counts `variant` of `framework` under callgrind. */
export async function countVariant(framework: Framework, variant: VariantId, settings: CountSettings, log: (line: string) => void = () => {}): Promise<VariantCounts> {
  const started = Date.now();
  const info = VARIANT_INFO[variant];
  const sequences = await sequencesOf(variant);
  const perBatch = settings.batch[info.family];
  const warmupPerKind = settings.warmup[info.family];
  // The plan: every pass an empty batch, then one batch per kind.
  const plan: Step[] = [];
  for (let pass = 0; pass < settings.passes; pass += 1) {
    plan.push({ kind: 'empty' });
    for (const sequence of sequences) plan.push({ kind: sequence.kind, sequence });
  }
  // Every batch's dump, for callgrind_annotate.
  const keep = new Map<number, string>();
  if (settings.keepDir !== undefined) {
    plan.forEach((step, j) => keep.set(dumpOfBatch(j), `${framework}-${variant}-${Math.floor(j / (sequences.length + 1)) + 1}-${step.kind}.callgrind`));
  }
  const script = fileURLToPath(new URL('./app-process.js', import.meta.url));
  const nodeArgs = [
    '--expose-gc',
    `--min-semi-space-size=${settings.semiSpaceMb}`,
    `--max-semi-space-size=${settings.semiSpaceMb}`,
    // No collection of the old generation during the run: it starts large enough, and the memory reducer
    // (full collections when the process looks idle, as one under callgrind often does) is off.
    `--initial-old-space-size=${OLD_SPACE_MB}`,
    '--no-memory-reducer',
    // The perf map names V8's generated code for annotate.ts; the V8 log that comes with it goes beside the dumps, not into the working directory.
    ...(settings.keepDir !== undefined ? ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${join(settings.keepDir, `${framework}-${variant}.v8.log`)}`] : []),
    script,
    framework,
    variant,
  ];
  const run = startUnderCallgrind(nodeArgs, settings.keepDir !== undefined ? { keep: { dir: settings.keepDir, dumps: keep } } : {});
  const { child } = run;
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-6000);
  });
  const lines = lineReader(child.stdout as Readable);
  const where = `${framework} ${variant}`;
  let driver: RequestDriver | undefined;
  try {
    const { port } = (await lines.next(600_000)) as { port: number };
    driver = await RequestDriver.connect(port);
    const bodies = new Map<BatchKind, Buffer[]>();
    const checks: string[] = [];
    for (const sequence of sequences) {
      const kept: Buffer[] = [];
      for (let i = 0; i < sequence.requests.length; i += 1) {
        const answer = await driver.send(sequence.requests[i] as (typeof sequence.requests)[number]);
        const problem = sequence.problem(i, answer);
        if (problem !== undefined) throw new Error(`${sequence.route} ${problem}`);
        kept.push(answer.body);
      }
      bodies.set(sequence.kind, kept);
      const first = await driver.send(sequence.requests[0] as (typeof sequence.requests)[number]);
      checks.push(`${where}: ${sequence.route}${sequence.requests.length > 1 ? ` (${sequence.requests.length} distinct requests)` : ''} → ${sequence.summary(0, first)}`);
    }
    log(`instructions: ${where} — answers checked; warm-up ${warmupPerKind.toLocaleString('en-US')} requests per route...`);
    // The warm-up interleaves the kinds as the batches will.
    const chunk = 100;
    for (let sent = 0; sent < warmupPerKind; sent += chunk) {
      for (const sequence of sequences) await driver.run(sequence.requests, Math.min(chunk, warmupPerKind - sent), sent, bodies.get(sequence.kind));
    }
    const collections: string[][] = [];
    for (const [j, step] of plan.entries()) {
      const answer = (await command(child.stdin, lines, 'mark')) as { collections: string[] };
      if (j > 0) collections.push(answer.collections);
      if (step.kind !== 'empty') await driver.run(step.sequence.requests, perBatch, 0, bodies.get(step.kind));
      if (step.kind === 'empty' && j % (sequences.length + 1) === 0) log(`instructions: ${where} — pass ${j / (sequences.length + 1) + 1}/${settings.passes}`);
    }
    const last = (await command(child.stdin, lines, 'mark')) as { collections: string[] };
    collections.push(last.collections);
    driver.close();
    driver = undefined;
    child.stdin?.end('end\n');
    const { code, totals } = await run.finished;
    keepPerfMap(child.pid, settings.keepDir, `${framework}-${variant}.perf.map`);
    if (code !== 0) throw new Error(`exited with ${code}`);
    const instructionsOf = (j: number): number => {
      const total = totals.get(dumpOfBatch(j));
      if (total === undefined) throw new Error(`no callgrind dump for batch ${j} (dump ${dumpOfBatch(j)}; ${totals.size} dumps)`);
      return total;
    };
    const empty = plan.flatMap((step, j) => (step.kind === 'empty' ? [instructionsOf(j)] : []));
    const markers = median(empty);
    const kinds = sequences.map((sequence) => {
      const batches = plan.flatMap((step, j) => (step.kind === sequence.kind ? [j] : []));
      return {
        kind: sequence.kind,
        route: sequence.route,
        requestsPerBatch: perBatch,
        perRequest: batches.map((j) => (instructionsOf(j) - markers) / perBatch),
        collections: batches.map((j) => collections[j] ?? []),
      };
    });
    return { framework, variant, kinds, empty, warmupRequests: warmupPerKind * sequences.length, checks, seconds: Math.round((Date.now() - started) / 1000) };
  } catch (error) {
    driver?.close();
    child.kill('SIGKILL');
    await run.finished.catch(() => undefined);
    keepPerfMap(child.pid, undefined, '');
    throw new Error(`instructions: ${where}: ${error instanceof Error ? error.message : String(error)}${stderr.trim() ? `\n${stderr.trim().split('\n').slice(-12).join('\n')}` : ''}`);
  }
}

/** Moves V8's perf map of a run with `--perf-basic-prof` (`/tmp/perf-<pid>.map`) into `dir`, or just removes it. */
function keepPerfMap(pid: number | undefined, dir: string | undefined, name: string): void {
  if (pid === undefined) return;
  const map = `/tmp/perf-${pid}.map`;
  if (!existsSync(map)) return;
  if (dir !== undefined) copyFileSync(map, join(dir, name));
  rmSync(map, { force: true });
}

/** Sends a command line to the measured process and resolves with its JSON answer. */
async function command(stdin: NodeJS.WritableStream | null, lines: LineReader, name: string): Promise<unknown> {
  if (stdin === null) throw new Error('the measured process has no stdin');
  const answer = lines.next(600_000);
  stdin.write(`${name}\n`);
  const value = (await answer) as { error?: string };
  if (typeof value.error === 'string') throw new Error(value.error);
  return value;
}

interface LineReader {
  /** The next JSON line (other lines are skipped), within `timeoutMs`. */
  next(timeoutMs: number): Promise<unknown>;
}

function lineReader(stream: Readable): LineReader {
  const queue: unknown[] = [];
  let waiting: { resolve: (value: unknown) => void; reject: (error: Error) => void } | undefined;
  let ended = false;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
      if (!line.startsWith('{')) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue;
      }
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w.resolve(value);
      } else {
        queue.push(value);
      }
    }
  });
  stream.on('end', () => {
    ended = true;
    waiting?.reject(new Error('the measured process closed its stdout'));
    waiting = undefined;
  });
  return {
    next(timeoutMs) {
      if (queue.length > 0) return Promise.resolve(queue.shift());
      if (ended) return Promise.reject(new Error('the measured process closed its stdout'));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting = undefined;
          reject(new Error(`no answer within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        waiting = {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
      });
    },
  };
}

export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).toSorted((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

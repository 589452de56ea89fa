// The user's transforms and the body-size difference of a five-behind
// request, counted under callgrind and timed natively (transforms-process.ts),
// and from the two this machine's instructions per µs.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dumpOfBatch } from './batch-marker.js';
import { runUnderCallgrind } from './callgrind.js';
import { median } from './count-variant.js';
import { TRANSFORM_KINDS, type TransformKind, type TransformsPlan, type TransformsTimes } from './transforms-process.js';

/** The loops whose native time and count give the instructions per µs: JavaScript like Baton's share (object copies, property reads, closures), no system calls. */
export const RATE_KINDS = ['GET transforms', 'POST transforms', 'GET chain', 'POST chain'] as const satisfies readonly TransformKind[];
export type RateKind = (typeof RATE_KINDS)[number];

export interface TransformsResult {
  iterations: number;
  passes: number;
  rounds: number;
  /** Main-thread instructions per iteration, median over passes, the loop's own subtracted (`loop` itself as counted). */
  instructions: Record<TransformKind, number>;
  /** (max − min) ÷ median of the passes' figures. */
  spread: Record<TransformKind, number>;
  /** Natively: ns of the process's CPU time per iteration, median over rounds, the loop's own subtracted. */
  nativeNs: Record<TransformKind, number>;
  /** Instructions per µs of the transforms and chain loops, and the one used to convert (the lowest: the largest µs). */
  rate: Record<RateKind, number> & { used: number };
  seconds: number;
}

const SCRIPT = fileURLToPath(new URL('./transforms-process.js', import.meta.url));

interface TransformsSettings {
  iterations: number;
  passes: number;
  warmup: number;
  semiSpaceMb: number;
  rounds: number;
}

function nodeFlags(settings: TransformsSettings): string[] {
  return ['--expose-gc', `--min-semi-space-size=${settings.semiSpaceMb}`, `--max-semi-space-size=${settings.semiSpaceMb}`, '--initial-old-space-size=256', '--no-memory-reducer'];
}

/** Times the loops natively, in a fresh process (run it alone: a callgrind run beside it would share its CPU). */
export function timeTransforms(settings: TransformsSettings): Promise<TransformsTimes> {
  return native([...nodeFlags(settings), SCRIPT, 'native', JSON.stringify({ iterations: settings.iterations, warmup: settings.warmup, rounds: settings.rounds })]);
}

/** Counts the loops under callgrind and, with their native times, works out the figures. */
export async function countTransforms(settings: TransformsSettings, times: TransformsTimes): Promise<TransformsResult> {
  const started = Date.now();
  const { stdout, totals } = await runUnderCallgrind([...nodeFlags(settings), SCRIPT, 'callgrind', JSON.stringify({ iterations: settings.iterations, warmup: settings.warmup, passes: settings.passes })], 1_800_000);
  const plan = JSON.parse(stdout.trim().split('\n').pop() ?? '') as TransformsPlan;
  const passes = Object.fromEntries(TRANSFORM_KINDS.map((kind) => [kind, [] as number[]])) as Record<TransformKind, number[]>;
  plan.batches.forEach((kind, j) => {
    const total = totals.get(dumpOfBatch(j));
    if (total === undefined) throw new Error(`transforms: no callgrind dump for batch ${j} (${kind})`);
    passes[kind].push(total / plan.iterations);
  });
  const loop = median(passes.loop);
  const loopNs = median(times.ns.loop);
  const per = <T>(fn: (kind: TransformKind) => T): Record<TransformKind, T> => Object.fromEntries(TRANSFORM_KINDS.map((kind) => [kind, fn(kind)])) as Record<TransformKind, T>;
  const instructions = per((kind) => (kind === 'loop' ? loop : median(passes[kind]) - loop));
  const nativeNs = per((kind) => (kind === 'loop' ? loopNs : median(times.ns[kind]) - loopNs));
  const rateOf = (kind: TransformKind): number => (instructions[kind] / nativeNs[kind]) * 1000;
  const rates = Object.fromEntries(RATE_KINDS.map((kind) => [kind, rateOf(kind)])) as Record<RateKind, number>;
  const rate = { ...rates, used: Math.min(...Object.values(rates)) };
  return {
    iterations: plan.iterations,
    passes: settings.passes,
    rounds: times.rounds,
    instructions,
    spread: per((kind) => (Math.max(...passes[kind]) - Math.min(...passes[kind])) / median(passes[kind])),
    nativeNs,
    rate,
    seconds: Math.round((Date.now() - started) / 1000),
  };
}

function native(args: string[]): Promise<TransformsTimes> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`transforms (native): ${error.message}${stderr ? `\n${stderr.slice(-1500)}` : ''}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as TransformsTimes);
      } catch {
        reject(new Error(`transforms (native): not a result: ${stdout.slice(-300)}`));
      }
    });
  });
}

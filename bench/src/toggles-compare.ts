// The toggles benchmark: `isEnabled` and `getVariant` through Baton
// (@baton/toggles, file source, directly and through request scopes, and the
// registry-defaults source) against raw unleash-client on the same features
// and the same 1,000 reused contexts (toggles-fixture.ts). Three measurements,
// each in fresh node processes (`node toggles-compare.js <mode>` prints JSON):
//
// - timing: the two sides of every case alternate in the same rounds, in one
//   process (A/B/A/B..., which side goes first alternating too); the figure
//   is the median over rounds of Baton's ns per call ÷ raw's in that round.
//   Batches are timed in the process's CPU time and start after a full
//   collection (in wall time, with neighbours running, identical sides came
//   out anywhere between 0.3x and 4x of each other; without the collection,
//   every other batch paid for a scavenge). An A/A case (raw against a second
//   raw instance) shows the noise floor.
// - allocation: bytes allocated per call with a reused context, from the heap
//   used before and after a batch of calls with the young generation made
//   large enough that no collection runs in between (a batch during which one
//   ran is dropped); Baton's extra bytes over raw's.
// - instructions (optional, needs valgrind): instructions per call under
//   callgrind, one process per side so they share nothing (two per side, the
//   second one the A/A), each batch between two markers (`os.getPriority()`,
//   on which callgrind dumps its counts), main thread only: V8's concurrent
//   compiler and GC threads made the all-threads count of the same batch vary
//   by 15%. Not `--single-threaded` either: it changes V8's optimisation
//   decisions (Baton's `isEnabled` came out up to 2.3x raw's natively under it, and
//   at raw's without it). The runner is shared with the per-request counts
//   (instructions/callgrind.ts).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { ToggleContext } from '@baton/toggles';
import { hasValgrind, runUnderCallgrind } from './instructions/callgrind.js';
import {
  batonFromDefaults,
  batonFromFile,
  batonGetVariant,
  batonIsEnabled,
  BOOLEAN_TOGGLES,
  clientFeatures,
  defaultsAsFeatures,
  emptyLoop,
  makeContexts,
  makeScopes,
  rawGetVariant,
  rawIsEnabled,
  rawRequestOf,
  rawUnleash,
  registry,
  scopeFactory,
  scopeGetVariant,
  scopeIsEnabled,
  VARIANT_TOGGLE,
  type BenchName,
  type Loop,
} from './toggles-fixture.js';

/** The issue's target: Baton's time per evaluation at most this multiple of raw unleash-client's. */
export const TOGGLES_TARGET = 1.1;
const CONTEXTS = 1000;

/** A case: Baton's way of evaluating against raw unleash-client's, on the same toggles and contexts. */
interface Case {
  id: string;
  /** Calls per repetition of the loops (contexts × toggles). */
  callsPerRep: number;
  /** The side compared with raw ("a" side); for the A/A case a second raw instance. */
  baton: Loop;
  raw: Loop;
}

/** Static description of the cases, for the report. */
export interface CaseInfo {
  id: string;
  api: 'isEnabled' | 'getVariant';
  /** How Baton is called, or "raw (second instance)" for the A/A case. */
  baton: string;
  raw: string;
  toggles: string;
  /** Judged against the target (not the A/A control). */
  judged: boolean;
}

const BOOLEANS = BOOLEAN_TOGGLES.join(', ');

export const CASES: readonly CaseInfo[] = [
  { id: 'aa', api: 'isEnabled', baton: 'raw unleash-client, a second instance (A/A control)', raw: '`unleash.isEnabled(name, ctx)`', toggles: `the four in turn (${BOOLEANS})`, judged: false },
  ...BOOLEAN_TOGGLES.map((name) => ({ id: `file:${name}`, api: 'isEnabled' as const, baton: '`flags.isEnabled(name, ctx)`, file source', raw: '`unleash.isEnabled(name, ctx)`', toggles: name, judged: true })),
  { id: 'file:all', api: 'isEnabled', baton: '`flags.isEnabled(name, ctx)`, file source', raw: '`unleash.isEnabled(name, ctx)`', toggles: 'the four in turn', judged: true },
  { id: 'scope:all', api: 'isEnabled', baton: '`scope.isEnabled(name)`, request scope (file source)', raw: '`unleash.isEnabled(name, ctx)`', toggles: 'the four in turn', judged: true },
  { id: 'defaults:all', api: 'isEnabled', baton: '`flags.isEnabled(name, ctx)`, registry-defaults source', raw: '`unleash.isEnabled(name, ctx)` over the same defaults as features', toggles: `all five (${registry.names.join(', ')})`, judged: true },
  { id: 'file:variant', api: 'getVariant', baton: '`flags.getVariant(name, ctx)`, file source', raw: '`unleash.getVariant(name, ctx)`', toggles: VARIANT_TOGGLE, judged: true },
  { id: 'scope:variant', api: 'getVariant', baton: '`scope.getVariant(name)`, request scope (file source)', raw: '`unleash.getVariant(name, ctx)`', toggles: VARIANT_TOGGLE, judged: true },
];

export interface TimedCase {
  id: string;
  /** Calls per timed batch of each side. */
  callsPerBatch: number;
  /** Medians over rounds, ns per call. */
  batonNs: number;
  rawNs: number;
  /** Median over rounds of Baton ÷ raw in the same round. */
  ratio: number;
  /** 25th and 75th percentiles of the round ratios. */
  ratioQ1: number;
  ratioQ3: number;
  ratioMin: number;
  ratioMax: number;
  ratios: number[];
}

export interface TimingResult {
  rounds: number;
  /** Evaluations compared one by one between Baton and raw before timing, and how many differed. */
  compared: number;
  mismatches: string[];
  cases: TimedCase[];
}

export interface AllocatedCase {
  id: string;
  callsPerBatch: number;
  /** Medians over the batches with no collection in them, bytes per call. */
  batonBytes: number;
  rawBytes: number;
  extraBytes: number;
  batonSamples: number[];
  rawSamples: number[];
}

export interface AllocationResult {
  semiSpaceMb: number;
  batches: number;
  /** Batches dropped because a collection ran during them. */
  dropped: number;
  /** The loop alone (a call that does nothing), bytes per call. */
  loopBytes: number;
  /** Making one request scope (its context and the scope). */
  scopeBytes: number;
  cases: AllocatedCase[];
}

export interface InstructionCase {
  id: string;
  calls: number;
  /** Instructions per call, the median over passes of each of the two processes of a side. */
  baton: number[];
  raw: number[];
  batonPasses: number[][];
  rawPasses: number[][];
  /** Median Baton ÷ median raw over every pass of both processes. */
  ratio: number;
}

export interface InstructionsResult {
  tool: string;
  callsPerBatch: number;
  passes: number;
  /** Instructions per call of the loop alone. */
  loop: number;
  cases: InstructionCase[];
  /** Each side's second process against its first (A/A): raw isEnabled, Baton isEnabled. */
  rawAgainRatio: number;
  batonAgainRatio: number;
  seconds: number;
}

export interface TogglesBenchResult {
  contexts: number;
  unleashClient: string;
  timing: TimingResult;
  allocation: AllocationResult;
  instructions?: InstructionsResult;
  /** Why instruction counts are missing. */
  instructionsNote?: string;
}

interface Sides {
  cases: Case[];
  contexts: ToggleContext[];
  close(): Promise<void>;
}

async function buildCases(): Promise<Sides & { check: () => { compared: number; mismatches: string[] } }> {
  const features = clientFeatures();
  const { contexts, requests } = makeContexts(CONTEXTS);
  const raw = await rawUnleash(features, 'bench-raw');
  const rawAgain = await rawUnleash(features, 'bench-raw-again');
  const rawDefaults = await rawUnleash(defaultsAsFeatures(), 'bench-raw-defaults');
  const flags = await batonFromFile(features);
  const defaults = await batonFromDefaults();
  const scopes = makeScopes(flags, requests);
  const byId: Record<string, { baton: Loop; raw: Loop; perRep: number }> = {
    aa: { baton: rawIsEnabled(rawAgain, BOOLEAN_TOGGLES, contexts), raw: rawIsEnabled(raw, BOOLEAN_TOGGLES, contexts), perRep: BOOLEAN_TOGGLES.length },
    'file:all': { baton: batonIsEnabled(flags, BOOLEAN_TOGGLES, contexts), raw: rawIsEnabled(raw, BOOLEAN_TOGGLES, contexts), perRep: BOOLEAN_TOGGLES.length },
    'scope:all': { baton: scopeIsEnabled(scopes, BOOLEAN_TOGGLES), raw: rawIsEnabled(raw, BOOLEAN_TOGGLES, contexts), perRep: BOOLEAN_TOGGLES.length },
    'defaults:all': { baton: batonIsEnabled(defaults, registry.names, contexts), raw: rawIsEnabled(rawDefaults, registry.names, contexts), perRep: registry.names.length },
    'file:variant': { baton: batonGetVariant(flags, VARIANT_TOGGLE, contexts), raw: rawGetVariant(raw, VARIANT_TOGGLE, contexts), perRep: 1 },
    'scope:variant': { baton: scopeGetVariant(scopes, VARIANT_TOGGLE), raw: rawGetVariant(raw, VARIANT_TOGGLE, contexts), perRep: 1 },
  };
  for (const name of BOOLEAN_TOGGLES) byId[`file:${name}`] = { baton: batonIsEnabled(flags, [name], contexts), raw: rawIsEnabled(raw, [name], contexts), perRep: 1 };
  const cases = CASES.map((info) => {
    const c = byId[info.id];
    if (c === undefined) throw new Error(`toggles bench: no loops for case ${info.id}`);
    return { id: info.id, callsPerRep: c.perRep * CONTEXTS, baton: c.baton, raw: c.raw };
  });

  // Every evaluation of every side against raw unleash-client, one by one.
  const check = (): { compared: number; mismatches: string[] } => {
    const mismatches: string[] = [];
    let compared = 0;
    const differ = (what: string): void => {
      if (mismatches.length < 5) mismatches.push(what);
    };
    contexts.forEach((context, i) => {
      const scope = scopes[i];
      for (const name of registry.names) {
        const expected = raw.isEnabled(name, context);
        const seen = [flags.isEnabled(name, context), scope?.isEnabled(name)];
        compared += seen.length;
        if (seen.some((value) => value !== expected)) differ(`isEnabled(${name}) for ${context.userId}: raw ${expected}, Baton ${seen.join('/')}`);
        compared += 1;
        if (defaults.isEnabled(name, context) !== rawDefaults.isEnabled(name, context)) differ(`defaults: isEnabled(${name}) for ${context.userId}`);
      }
      const rawVariant = raw.getVariant(VARIANT_TOGGLE, context);
      const expected = { name: rawVariant.name, enabled: rawVariant.enabled, payload: rawVariant.payload === undefined ? undefined : (JSON.parse(rawVariant.payload.value) as unknown) };
      for (const variant of [flags.getVariant(VARIANT_TOGGLE, context), scope?.getVariant(VARIANT_TOGGLE)]) {
        compared += 1;
        const got = { name: variant?.name, enabled: variant?.enabled, payload: variant?.payload };
        if (!isDeepStrictEqual(got, expected)) differ(`getVariant(${VARIANT_TOGGLE}) for ${context.userId}: raw ${JSON.stringify(expected)}, Baton ${JSON.stringify(got)}`);
      }
    });
    return { compared, mismatches };
  };
  return {
    cases,
    contexts,
    check,
    close: async () => {
      await Promise.all([flags.close(), defaults.close()]);
      for (const unleash of [raw, rawAgain, rawDefaults]) unleash.destroy();
    },
  };
}

/**
 * Nanoseconds of the process's CPU time per call over one batch. CPU time, not
 * wall time: on a shared machine a batch that is preempted for a time slice
 * would otherwise carry the neighbour's work (seen as ratios of 0.3 to 4 between
 * identical sides in wall time while other processes ran).
 */
function nsPerCall(loop: Loop, reps: number, calls: number): number {
  // From an empty young generation: the collections a batch pays for are then its own, the same for both sides.
  (globalThis as { gc?: () => void }).gc?.();
  const started = process.cpuUsage();
  const sum = loop(reps);
  const used = process.cpuUsage(started);
  if (sum < 0) throw new Error('unreachable');
  return ((used.user + used.system) * 1000) / calls;
}

/** Timing: warm-up, calibration to ~batchMs per batch, then rounds of every case, its two sides back to back. */
export async function runTiming(options: { rounds?: number; batchMs?: number } = {}): Promise<TimingResult> {
  const rounds = options.rounds ?? 100;
  const batchMs = options.batchMs ?? 5;
  const sides = await buildCases();
  const { compared, mismatches } = sides.check();
  // Warm-up: every loop long enough to be optimised, both sides interleaved.
  for (let i = 0; i < 4; i += 1) for (const c of sides.cases) for (const loop of [c.baton, c.raw]) loop(Math.max(1, Math.ceil(20_000 / c.callsPerRep)));
  const reps = sides.cases.map((c) => {
    const once = Math.min(nsPerCall(c.raw, 1, c.callsPerRep), nsPerCall(c.raw, 1, c.callsPerRep), nsPerCall(c.raw, 1, c.callsPerRep));
    return Math.max(1, Math.round((batchMs * 1e6) / (once * c.callsPerRep)));
  });
  const samples = sides.cases.map(() => ({ baton: [] as number[], raw: [] as number[], ratios: [] as number[] }));
  for (let round = 0; round < rounds; round += 1) {
    for (let k = 0; k < sides.cases.length; k += 1) {
      const index = (k + round) % sides.cases.length;
      const c = sides.cases[index] as Case;
      const n = reps[index] as number;
      const calls = n * c.callsPerRep;
      let baton: number;
      let raw: number;
      if (round % 2 === 0) {
        baton = nsPerCall(c.baton, n, calls);
        raw = nsPerCall(c.raw, n, calls);
      } else {
        raw = nsPerCall(c.raw, n, calls);
        baton = nsPerCall(c.baton, n, calls);
      }
      const s = samples[index] as (typeof samples)[number];
      s.baton.push(baton);
      s.raw.push(raw);
      s.ratios.push(baton / raw);
    }
  }
  await sides.close();
  return {
    rounds,
    compared,
    mismatches,
    cases: sides.cases.map((c, i) => {
      const s = samples[i] as (typeof samples)[number];
      return {
        id: c.id,
        callsPerBatch: (reps[i] as number) * c.callsPerRep,
        batonNs: quantile(s.baton, 0.5),
        rawNs: quantile(s.raw, 0.5),
        ratio: quantile(s.ratios, 0.5),
        ratioQ1: quantile(s.ratios, 0.25),
        ratioQ3: quantile(s.ratios, 0.75),
        ratioMin: Math.min(...s.ratios),
        ratioMax: Math.max(...s.ratios),
        ratios: s.ratios,
      };
    }),
  };
}

/** The young generation's size in the allocation process: big enough that a batch never fills it. */
const SEMI_SPACE_MB = 256;
/**
 * Calls per allocation batch: raw unleash-client allocates up to ~3 KB per
 * call, so a batch (~170 MB at most) stays below the young generation. Large
 * batches, because the heap-used figure moves in steps of a few tens of KB
 * (allocation buffers): ±1 B per call at this size.
 */
const ALLOCATION_CALLS = 60_000;
/** The young generation of the callgrind processes: their batches are 4,000 calls. */
const CALLGRIND_SEMI_SPACE_MB = 64;

/**
 * Allocation: per case and side, batches of calls between two reads of the
 * heap used, a full collection before each; a batch during which any
 * collection ran is dropped. Run with --expose-gc and a large young generation.
 */
export async function runAllocation(options: { batches?: number } = {}): Promise<AllocationResult> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('toggles bench: the allocation measurement needs node --expose-gc');
  const batches = options.batches ?? 7;
  const sides = await buildCases();
  const collections: { start: number; end: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) collections.push({ start: entry.startTime, end: entry.startTime + entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  let dropped = 0;
  const measure = async (loop: Loop, reps: number, calls: number): Promise<number[]> => {
    for (let i = 0; i < 2; i += 1) loop(reps);
    const bytes: number[] = [];
    for (let attempt = 0; bytes.length < batches && attempt < batches * 3; attempt += 1) {
      collect();
      const started = performance.now();
      const before = process.memoryUsage().heapUsed;
      loop(reps);
      const after = process.memoryUsage().heapUsed;
      const ended = performance.now();
      // Observed collections are delivered asynchronously: let them arrive, then keep the batch only if none ran within it.
      await new Promise((resolve) => setImmediate(resolve));
      if (collections.some((gc) => gc.end >= started && gc.start <= ended)) {
        dropped += 1;
        continue;
      }
      bytes.push((after - before) / calls);
    }
    return bytes;
  };
  const loopAlone = emptyLoop(BOOLEAN_TOGGLES, sides.contexts);
  const loopReps = Math.ceil(ALLOCATION_CALLS / (BOOLEAN_TOGGLES.length * CONTEXTS));
  const loopBytes = quantile(await measure(loopAlone, loopReps, loopReps * BOOLEAN_TOGGLES.length * CONTEXTS), 0.5);
  const cases: AllocatedCase[] = [];
  for (const c of sides.cases) {
    const reps = Math.max(1, Math.round(ALLOCATION_CALLS / c.callsPerRep));
    const calls = reps * c.callsPerRep;
    const batonSamples = await measure(c.baton, reps, calls);
    const rawSamples = await measure(c.raw, reps, calls);
    const batonBytes = quantile(batonSamples, 0.5);
    const rawBytes = quantile(rawSamples, 0.5);
    cases.push({ id: c.id, callsPerBatch: calls, batonBytes, rawBytes, extraBytes: batonBytes - rawBytes, batonSamples, rawSamples });
  }
  const scopeBytes = await scopeAllocation(measure);
  observer.disconnect();
  await sides.close();
  return { semiSpaceMb: SEMI_SPACE_MB, batches, dropped, loopBytes, scopeBytes, cases };
}

/** Bytes per request scope made (its context and the scope), as an adapter makes one per request. */
async function scopeAllocation(measure: (loop: Loop, reps: number, calls: number) => Promise<number[]>): Promise<number> {
  const flags = await batonFromFile(clientFeatures());
  const { requests } = makeContexts(CONTEXTS);
  const raws = requests.map(rawRequestOf);
  const factory = scopeFactory(flags);
  const kept: unknown[] = new Array<unknown>(requests.length).fill(undefined);
  const loop: Loop = (reps) => {
    for (let r = 0; r < reps; r += 1) for (let i = 0; i < requests.length; i += 1) kept[i] = factory(requests[i] as (typeof requests)[number], raws[i] as (typeof raws)[number]);
    return kept.length;
  };
  const bytes = quantile(await measure(loop, 10, 10 * requests.length), 0.5);
  await flags.close();
  return bytes;
}

/** The instruction-count batches of one side (run under callgrind): the raw side's loops, or Baton's. */
async function runInstructionSide(side: 'raw' | 'baton', options: { reps: number; passes: number; warmups: number }): Promise<{ ids: string[]; calls: number[] }> {
  const features = clientFeatures();
  const { contexts, requests } = makeContexts(CONTEXTS);
  const loops: { id: string; loop: Loop; calls: number }[] = [{ id: 'loop', loop: emptyLoop(BOOLEAN_TOGGLES, contexts), calls: BOOLEAN_TOGGLES.length * CONTEXTS }];
  if (side === 'raw') {
    const raw = await rawUnleash(features, 'bench-raw');
    loops.push({ id: 'isEnabled', loop: rawIsEnabled(raw, BOOLEAN_TOGGLES, contexts), calls: BOOLEAN_TOGGLES.length * CONTEXTS });
    loops.push({ id: 'getVariant', loop: rawGetVariant(raw, VARIANT_TOGGLE, contexts), calls: CONTEXTS });
  } else {
    const flags = await batonFromFile(features);
    const scopes = makeScopes(flags, requests);
    loops.push({ id: 'file:all', loop: batonIsEnabled(flags, BOOLEAN_TOGGLES, contexts), calls: BOOLEAN_TOGGLES.length * CONTEXTS });
    loops.push({ id: 'scope:all', loop: scopeIsEnabled(scopes, BOOLEAN_TOGGLES), calls: BOOLEAN_TOGGLES.length * CONTEXTS });
    loops.push({ id: 'file:variant', loop: batonGetVariant(flags, VARIANT_TOGGLE as BenchName, contexts), calls: CONTEXTS });
    loops.push({ id: 'scope:variant', loop: scopeGetVariant(scopes, VARIANT_TOGGLE), calls: CONTEXTS });
  }
  // Warm-up, so the batches run optimised code.
  for (let i = 0; i < options.warmups; i += 1) for (const l of loops) l.loop(Math.max(1, Math.round((options.reps * 4 * CONTEXTS) / l.calls)));
  const ids: string[] = [];
  const calls: number[] = [];
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
  // The marker: callgrind dumps its counts on entering uv_os_getpriority, so
  // each batch is the dump between the markers around it. A full collection
  // before each batch (outside the markers) starts every batch from an empty
  // young generation, so the collections it pays for are its own.
  for (let pass = 0; pass < options.passes; pass += 1) {
    for (const l of loops) {
      const reps = Math.max(1, Math.round((options.reps * 4 * CONTEXTS) / l.calls));
      collect();
      getPriority();
      l.loop(reps);
      getPriority();
      ids.push(l.id);
      calls.push(reps * l.calls);
    }
  }
  return { ids, calls };
}

/** Instruction counts per call of each side under callgrind (one process per side; the raw side twice). */
export async function runInstructions(options: { reps?: number; passes?: number; warmups?: number } = {}): Promise<InstructionsResult> {
  const side = { reps: options.reps ?? 1, passes: options.passes ?? 2, warmups: options.warmups ?? 8 };
  const started = Date.now();
  // Instruction counts do not depend on what else runs: the three processes share the CPUs.
  const [raw, baton] = await Promise.all([callgrind('raw', side), callgrind('baton', side)]);
  const [rawAgain, batonAgain] = await Promise.all([callgrind('raw', side), callgrind('baton', side)]);
  const perCall = (counts: SideCounts, id: string): number[] => counts.batches.filter((b) => b.id === id).map((b) => b.instructions / b.calls);
  const loop = quantile(perCall(raw, 'loop'), 0.5);
  const pairs: [string, string][] = [
    ['file:all', 'isEnabled'],
    ['scope:all', 'isEnabled'],
    ['file:variant', 'getVariant'],
    ['scope:variant', 'getVariant'],
  ];
  const cases = pairs.map(([batonId, rawId]) => {
    const batonPasses = [perCall(baton, batonId), perCall(batonAgain, batonId)];
    const rawPasses = [perCall(raw, rawId), perCall(rawAgain, rawId)];
    return {
      id: batonId,
      calls: baton.batches.find((x) => x.id === batonId)?.calls ?? 0,
      baton: batonPasses.map((passes) => quantile(passes, 0.5)),
      raw: rawPasses.map((passes) => quantile(passes, 0.5)),
      batonPasses,
      rawPasses,
      ratio: quantile(batonPasses.flat(), 0.5) / quantile(rawPasses.flat(), 0.5),
    };
  });
  const again = (first: SideCounts, second: SideCounts, id: string): number => quantile(perCall(second, id), 0.5) / quantile(perCall(first, id), 0.5);
  return {
    tool: 'valgrind --tool=callgrind',
    callsPerBatch: side.reps * 4 * CONTEXTS,
    passes: side.passes,
    loop,
    cases,
    rawAgainRatio: again(raw, rawAgain, 'isEnabled'),
    batonAgainRatio: again(baton, batonAgain, 'file:all'),
    seconds: Math.round((Date.now() - started) / 1000),
  };
}

interface SideCounts {
  batches: { id: string; calls: number; instructions: number }[];
}

async function callgrind(side: 'raw' | 'baton', options: { reps: number; passes: number; warmups: number }): Promise<SideCounts> {
  const script = fileURLToPath(import.meta.url);
  const nodeArgs = ['--expose-gc', `--min-semi-space-size=${CALLGRIND_SEMI_SPACE_MB}`, `--max-semi-space-size=${CALLGRIND_SEMI_SPACE_MB}`, script, 'instructions-side', side, JSON.stringify(options)];
  let run: Awaited<ReturnType<typeof runUnderCallgrind>>;
  try {
    run = await runUnderCallgrind(nodeArgs, 600_000);
  } catch (error) {
    throw new Error(`callgrind (${side}): ${error instanceof Error ? error.message : String(error)}`);
  }
  const { ids, calls } = JSON.parse(lastLine(run.stdout)) as { ids: string[]; calls: number[] };
  // cg.out.1 runs up to the first marker (start-up, warm-up); then a batch, a collection, a batch...: batch k is cg.out.(2k+2).
  const batches = ids.map((id, k) => {
    const instructions = run.totals.get(2 * k + 2);
    if (instructions === undefined) throw new Error(`callgrind (${side}): no dump for batch ${k} (${id})`);
    return { id, calls: calls[k] as number, instructions };
  });
  return { batches };
}

function child<T>(mode: string, flags: string[], options: object, timeoutMs: number): Promise<T> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...flags, script, mode, JSON.stringify(options)], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`toggles bench (${mode}): ${error.message}${stderr ? `\n${stderr.slice(-2000)}` : ''}`));
        return;
      }
      try {
        resolve(JSON.parse(lastLine(stdout)) as T);
      } catch {
        reject(new Error(`toggles bench (${mode}): not a result: ${stdout.slice(-300)}`));
      }
    });
  });
}

/**
 * The whole toggles benchmark, each measurement in fresh processes: timing,
 * allocation, then (unless turned off, or valgrind is missing) instruction counts.
 */
export async function runTogglesBench(options: { rounds?: number; quick?: boolean; instructions?: boolean } = {}): Promise<TogglesBenchResult> {
  const rounds = options.rounds ?? (options.quick ? 30 : 100);
  const timing = await child<TimingResult>('timing', ['--expose-gc'], { rounds }, 600_000);
  const allocation = await child<AllocationResult>('allocation', ['--expose-gc', `--min-semi-space-size=${SEMI_SPACE_MB}`, `--max-semi-space-size=${SEMI_SPACE_MB}`], { batches: options.quick ? 3 : 7 }, 600_000);
  const result: TogglesBenchResult = { contexts: CONTEXTS, unleashClient: unleashClientVersion(), timing, allocation };
  if (options.instructions === false) {
    result.instructionsNote = 'not measured in this run (`BENCH_CALLGRIND=0`, or quick mode)';
  } else if (!(await hasValgrind())) {
    result.instructionsNote = 'not measured: valgrind is not installed';
  } else {
    try {
      result.instructions = await runInstructions({ passes: 2, warmups: options.quick ? 4 : 8 });
    } catch (error) {
      result.instructionsNote = `not measured: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  return result;
}

function unleashClientVersion(): string {
  try {
    const url = new URL(import.meta.resolve('unleash-client'));
    let dir = fileURLToPath(url);
    for (let i = 0; i < 5; i += 1) {
      dir = join(dir, '..');
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'unleash-client') return pkg.version ?? 'unknown';
      } catch {
        // not the package's root yet
      }
    }
  } catch {
    // fall through
  }
  return 'unknown';
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** The q-quantile of values (linear between neighbours). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = values.filter(Number.isFinite).toSorted((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (at - low);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode = 'all', ...rest] = process.argv.slice(2);
  const parse = (text: string | undefined): Record<string, never> => JSON.parse(text ?? '{}') as Record<string, never>;
  const print = (value: unknown): void => {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  };
  switch (mode) {
    case 'timing':
      print(await runTiming(parse(rest[0])));
      break;
    case 'allocation':
      print(await runAllocation(parse(rest[0])));
      break;
    case 'instructions-side':
      print(await runInstructionSide(rest[0] === 'baton' ? 'baton' : 'raw', { reps: 1, passes: 3, warmups: 10, ...parse(rest[1]) }));
      break;
    case 'instructions':
      print(await runInstructions(parse(rest[0])));
      break;
    case 'all':
      print(await runTogglesBench(parse(rest[0])));
      break;
    default:
      throw new Error(`toggles bench: unknown mode ${mode}; timing, allocation, instructions or all`);
  }
}

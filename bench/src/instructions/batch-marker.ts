// The marker between two batches, in the measured process. Callgrind dumps
// its counts on every `os.getPriority()` (see callgrind.ts), so a boundary is:
//
//   getPriority()        the batch that just ran ends here (its own dump)
//   gc({ type: minor })  a scavenge, counted in a dump of its own, so every
//                        batch starts from an empty young generation
//   getPriority()        the next batch starts here
//
// Dump 1 is everything up to the first boundary (start-up, checks, warm-up),
// dump 2 that boundary's collection; batch j (from 0) is dump 2j + 3.
//
// A scavenge, not the full collection `gc()` makes by default: that one is a
// forced, memory-reducing collection which threw away much of V8's compiled
// state, and every batch after it ran slower code (Fastify's bare request
// went from 65,000 instructions to 170,000 and stayed there; the toggles
// bench's tight loops re-optimise within a batch, a server's request path
// does not). With a young generation larger than what a batch allocates, and
// an old generation started large with V8's memory reducer off (app-process
// flags in count-variant.ts), no collection runs inside a batch; V8's
// GCProfiler, started at one boundary and stopped at the next, says whether
// one did anyway (such a batch is reported, not hidden). Its hooks cost
// nothing while no collection runs.
import { getPriority } from 'node:os';
import { GCProfiler } from 'node:v8';

/** The dump (callgrind's file number) holding batch `j` (counted from 0). */
export function dumpOfBatch(j: number): number {
  return 2 * j + 3;
}

/** Marks batch boundaries in this process; tells how many collections ran in the batch that just ended. */
export class BatchMarker {
  #profiler: GCProfiler | undefined;
  readonly #collect: (options?: { type: string }) => void;

  constructor() {
    const collect = (globalThis as { gc?: (options?: { type: string }) => void }).gc;
    if (collect === undefined) throw new Error('instructions: the measured process needs node --expose-gc');
    this.#collect = collect;
  }

  /** Ends the current batch (if any) and starts the next; returns the collections that ran in the one that ended (V8's names: Scavenge, MarkCompact...). */
  boundary(): string[] {
    getPriority();
    const collections = this.#profiler?.stop().statistics.map((entry) => entry.gcType) ?? [];
    this.#collect({ type: 'minor' });
    this.#profiler = new GCProfiler();
    this.#profiler.start();
    getPriority();
    return collections;
  }
}

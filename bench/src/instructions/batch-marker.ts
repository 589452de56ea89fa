// The marker between two batches, in the measured process. Callgrind dumps
// its counts on every `os.getPriority()` (see callgrind.ts), so a boundary is:
//
//   getPriority()   the batch that just ran ends here (its own dump)
//   gc()            a full collection, counted in a dump of its own, so every
//                   batch starts from an empty young generation
//   getPriority()   the next batch starts here
//
// Dump 1 is everything up to the first boundary (start-up, checks, warm-up),
// dump 2 that boundary's collection; batch j (from 0) is dump 2j + 3.
//
// With a young generation larger than what a batch allocates, no collection
// runs inside a batch; V8's GCProfiler, started at one boundary and stopped
// at the next, says whether one did anyway (a batch in which one ran is
// reported, not hidden). Its hooks cost nothing while no collection runs.
import { getPriority } from 'node:os';
import { GCProfiler } from 'node:v8';

/** The dump (callgrind's file number) holding batch `j` (counted from 0). */
export function dumpOfBatch(j: number): number {
  return 2 * j + 3;
}

/** Marks batch boundaries in this process; tells how many collections ran in the batch that just ended. */
export class BatchMarker {
  #profiler: GCProfiler | undefined;
  readonly #collect: () => void;

  constructor() {
    const collect = (globalThis as { gc?: () => void }).gc;
    if (collect === undefined) throw new Error('instructions: the measured process needs node --expose-gc');
    this.#collect = collect;
  }

  /** Ends the current batch (if any) and starts the next; returns the collections that ran in the one that ended. */
  boundary(): number {
    getPriority();
    const collections = this.#profiler?.stop().statistics.length ?? 0;
    this.#collect();
    this.#profiler = new GCProfiler();
    this.#profiler.start();
    getPriority();
    return collections;
  }
}

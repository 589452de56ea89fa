// The per-request instruction counts, all of them: every selected app
// (variants.ts) in a process of its own under callgrind (count-variant.ts),
// two at a time (instruction counts do not depend on what else runs), and the
// user's transforms alone (count-transforms.ts), timed natively first so the
// counts convert to µs.
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { countTransforms, timeTransforms, type TransformsResult } from './count-transforms.js';
import { countVariant, median, type CountSettings, type VariantCounts } from './count-variant.js';
import { CALLGRIND_TOOL, hasValgrind } from './callgrind.js';
import { FRAMEWORKS, selectVariants, VARIANT_INFO, type Family, type Framework, type Selection, type VariantId } from './variants.js';

/** Options of {@link runInstructionsBench} (the environment variables of run.ts map onto these). */
export interface InstructionsBenchOptions {
  quick?: boolean;
  /** `BENCH_INSTRUCTIONS_ONLY`: frameworks, variants or framework:variant, comma-separated. */
  only?: string;
  passes?: number;
  /**
   * Requests per batch (each route of the versioning API gets this many; the orders route twice as many).
   * Once warm, batches of one app agree within ~0.1%: 1,000 requests are as good as more. The warm-up is
   * what matters: with 10,000 orders requests Fastify's first batch still ran 20% above the later ones.
   */
  batch?: number;
  /** Warm-up requests per route (the orders route twice as many). */
  warmup?: number;
  /** Processes under callgrind at a time. */
  jobs?: number;
  /** Keep one batch dump per route and app here, the apps run with `--perf-basic-prof` (for callgrind_annotate). */
  keepDir?: string;
  log?: (line: string) => void;
}

export interface InstructionsBenchResult {
  tool: string;
  settings: CountSettings & { jobs: number; transformsIterations: number };
  /** What was selected; `subset` when not every app of both frameworks. */
  selection: Selection[];
  subset: boolean;
  runs: VariantCounts[];
  failures: { framework: Framework; variant: VariantId; error: string }[];
  transforms?: TransformsResult;
  transformsError?: string;
  /** Why nothing was counted (no valgrind). */
  notMeasured?: string;
  seconds: number;
}

/** The young generation of the measured processes: the largest batch (Express, five-behind POSTs) allocates well under it. */
const SEMI_SPACE_MB = 256;

/** Runs the counts. */
export async function runInstructionsBench(options: InstructionsBenchOptions = {}): Promise<InstructionsBenchResult> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const quick = options.quick ?? false;
  const batch = options.batch ?? (quick ? 250 : 500);
  const warmup = options.warmup ?? (quick ? 3000 : 7500);
  const settings: InstructionsBenchResult['settings'] = {
    passes: options.passes ?? (quick ? 3 : 5),
    batch: { orders: 2 * batch, versioning: batch } satisfies Record<Family, number>,
    warmup: { orders: 2 * warmup, versioning: warmup } satisfies Record<Family, number>,
    semiSpaceMb: SEMI_SPACE_MB,
    jobs: options.jobs ?? Math.max(1, Math.min(2, availableParallelism())),
    transformsIterations: 2000,
    ...(options.keepDir !== undefined ? { keepDir: options.keepDir } : {}),
  };
  const selection = selectVariants(options.only);
  const subset = selection.length < FRAMEWORKS.length * Object.keys(VARIANT_INFO).length;
  const result: InstructionsBenchResult = { tool: CALLGRIND_TOOL, settings, selection, subset, runs: [], failures: [], seconds: 0 };
  if (settings.keepDir !== undefined) mkdirSync(settings.keepDir, { recursive: true });
  if (!(await hasValgrind())) {
    result.notMeasured = 'valgrind is not installed (`apt-get install -y valgrind`)';
    return result;
  }
  const needsTransforms = selection.some((s) => s.variant === 'vOldest');
  log(
    `instructions: ${selection.length} apps under callgrind, ${settings.jobs} at a time; ${settings.passes} passes of batches of ${settings.batch.orders.toLocaleString('en-US')} (orders) / ${settings.batch.versioning.toLocaleString('en-US')} per route (versioning API) after a warm-up of ${settings.warmup.orders.toLocaleString('en-US')} / ${settings.warmup.versioning.toLocaleString('en-US')} per route...`,
  );
  // The heaviest first (the versioning API, Express), so the two slots finish together.
  const jobs: (() => Promise<void>)[] = [];
  const weight = (s: Selection): number => (VARIANT_INFO[s.variant].family === 'versioning' ? 2 : 1) * (s.framework === 'express' ? 3 : 1);
  const ordered = selection.toSorted((a, b) => weight(b) - weight(a));
  if (needsTransforms) {
    // Timed natively first, alone (a callgrind run beside it would share its CPU), then counted in a slot like the apps.
    const transformsSettings = { iterations: settings.transformsIterations, passes: settings.passes, warmup: 20_000, semiSpaceMb: 64, rounds: quick ? 20 : 40 };
    try {
      log('instructions: the user\'s transforms alone, timed natively...');
      const times = await timeTransforms(transformsSettings);
      jobs.push(async () => {
        try {
          result.transforms = await countTransforms(transformsSettings, times);
          log(`instructions: the transforms counted (${result.transforms.seconds} s); ${Math.round(result.transforms.rate.used)} instructions per µs`);
        } catch (error) {
          result.transformsError = error instanceof Error ? error.message : String(error);
          log(`instructions: the transforms failed: ${result.transformsError}`);
        }
      });
    } catch (error) {
      result.transformsError = error instanceof Error ? error.message : String(error);
      log(`instructions: the transforms failed: ${result.transformsError}`);
    }
  }
  for (const s of ordered) {
    jobs.push(async () => {
      try {
        const counts = await countVariant(s.framework, s.variant, settings, log);
        result.runs.push(counts);
        log(`instructions: ${s.framework} ${s.variant} — ${counts.kinds.map((k) => `${k.route} ${Math.round(median(k.perRequest)).toLocaleString('en-US')} instructions/request (batches ${k.perRequest.map((x) => Math.round(x).toLocaleString('en-US')).join(' / ')})`).join(', ')} (${counts.seconds} s)`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        result.failures.push({ framework: s.framework, variant: s.variant, error: message });
        log(message);
      }
    });
  }
  let next = 0;
  const slot = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next] as () => Promise<void>;
      next += 1;
      await job();
    }
  };
  await Promise.all(Array.from({ length: settings.jobs }, slot));
  result.seconds = Math.round((Date.now() - started) / 1000);
  return result;
}

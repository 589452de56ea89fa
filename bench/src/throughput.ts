import { availableParallelism, cpus } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { canPin, pinSelf } from './process-control.js';
import { ORDER_PATH, ORDER_ROUTE, orderBody } from './servers/order-route.js';
import { runDuel, summarizeDuels, type Duel, type DuelResult } from './throughput-duel.js';
import { waitForQuiet } from './throughput-machine-load.js';
import { runRound, type LoadOptions, type RoundSample } from './throughput-round.js';
import { startThroughputServer, type ThroughputServer } from './throughput-server.js';
import { median, spread } from './throughput-stats.js';
import { THROUGHPUT_VARIANTS, type ThroughputVariant } from './throughput-variants.js';

/** Options of {@link runThroughputBench}. */
export interface ThroughputOptions {
  /** Shorter warm-up, fewer and shorter rounds: about 45 s instead of about 3.5 min. */
  quick?: boolean;
  /**
   * Measured rounds; every variant runs once per round. Default 10 (quick: 5).
   * Many short rounds rather than a few long ones: on a shared VM the speed
   * of a core drifts by ±15% within seconds, and only a median over many
   * same-round pairs is steady.
   */
  rounds?: number;
  /** Seconds of load per variant per round. Default 2 (quick: 1). */
  durationSeconds?: number;
  /** Head-to-head runs of each variant against its baseline (see `runDuels`). Default 6 (quick: 3). */
  duels?: number;
  /** Seconds of unmeasured load per variant before the rounds. Default 3 (quick: 1). */
  warmupSeconds?: number;
  /** Keep-alive connections of the load generator. Default 10. */
  connections?: number;
  /** Pin servers to one core and the load generator to another (needs taskset and 2+ cores). Default true. */
  pin?: boolean;
  /** Only these variant ids (baselines are always kept). */
  only?: readonly string[];
  /** Progress lines. Default: stderr. */
  log?: (line: string) => void;
}

/**
 * A sample taken while other processes used more than this much CPU (in
 * cores) is run again, and left out of the ratios if it stays that busy.
 */
export const FOREIGN_LOAD_LIMIT = 0.1;

/** The figures of one variant. */
export interface VariantResult {
  variant: ThroughputVariant;
  samples: RoundSample[];
  /** Median over rounds. */
  requestsPerSecond: number;
  /** Median over rounds of (this variant's req/s ÷ its baseline's req/s in the same round). */
  ratioToBare: number;
  /** Same, with requests per server-CPU-second: the overhead per request, whatever capped the load. */
  cpuRatioToBare: number;
  /** Relative spread of req/s over rounds. */
  spread: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuShare: number;
  failures: number;
  /** Rounds whose pair (this sample and its baseline's) was free of other load and went into the ratios. */
  cleanRounds: number;
  /** Head-to-head against the baseline (not for baselines). */
  duel?: DuelResult;
}

/** What {@link runThroughputBench} measured, with the settings it used. */
export interface ThroughputResult {
  load: LoadOptions;
  rounds: number;
  /** Head-to-head runs per variant. */
  duels: number;
  /**
   * A/A controls: a second process of each baseline head-to-head against the
   * first. Their ratio should be 100%; how far it is shows the method's own error.
   */
  controls: { framework: ThroughputVariant['framework']; duel: DuelResult }[];
  warmupSeconds: number;
  /** The warm-up runs (not in any figure; with the samples they account for every request a server got). */
  warmup: Record<string, RoundSample>;
  pinned: boolean;
  durationMs: number;
  /** Samples run again because other processes were busy meanwhile. */
  reruns: number;
  /** Seconds spent waiting for other processes to quieten before samples. */
  quietWaitSeconds: number;
  variants: VariantResult[];
}

/**
 * Every variant in its own process, driven by autocannon from this one:
 * a warm-up, then interleaved rounds (the order changes every round, so a
 * slow moment of the shared machine does not land on one variant), medians
 * and same-round ratios to the framework's bare baseline.
 */
export async function runThroughputBench(options: ThroughputOptions = {}): Promise<ThroughputResult> {
  const quick = options.quick ?? false;
  const rounds = options.rounds ?? (quick ? 5 : 10);
  const duels = options.duels ?? (quick ? 3 : 6);
  const warmupSeconds = options.warmupSeconds ?? (quick ? 1 : 3);
  const load: LoadOptions = {
    path: ORDER_PATH,
    durationSeconds: options.durationSeconds ?? (quick ? 1 : 2),
    connections: options.connections ?? 10,
  };
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const variants = THROUGHPUT_VARIANTS.filter((v) => v.baseline || !options.only || options.only.includes(v.id));
  const started = performance.now();

  const pinned = (options.pin ?? true) && canPin();
  const servers = new Map<string, ThroughputServer>();
  try {
    if (pinned) pinSelf('0');
    for (const variant of variants) {
      const server = await startThroughputServer(variant.id, pinned ? { cpu: 1 } : {});
      servers.set(variant.id, server);
      await checkServes(variant, server);
    }
    const warmup: Record<string, RoundSample> = {};
    // A/A controls: a second process of each baseline, for the head-to-head runs.
    const controlIds = duels > 0 ? variants.filter((v) => v.baseline).map((v) => v.id) : [];
    for (const id of controlIds) servers.set(`${id}#control`, await startThroughputServer(id, pinned ? { cpu: 1 } : {}));
    // The twins get no sequential rounds, so their warm-up stands in for them
    // too (a cold twin showed up at 40-60% of its warm self).
    const twinWarmupSeconds = Math.min(10, warmupSeconds + rounds * load.durationSeconds);
    for (const id of controlIds) {
      const twin = servers.get(`${id}#control`);
      if (twin) warmup[`${id}#control`] = await runRound(twin, { ...load, durationSeconds: twinWarmupSeconds });
    }
    log(`throughput: ${variants.length} servers up${pinned ? ' (servers on CPU 1, load on CPU 0)' : ''}; warm-up ${warmupSeconds} s each`);
    for (const variant of variants) {
      warmup[variant.id] = await runRound(serverOf(servers, variant), { ...load, durationSeconds: warmupSeconds });
    }

    const samples = new Map<string, RoundSample[]>(variants.map((v) => [v.id, []]));
    // Bounded: at most a sixth more samples than planned, two per sample, and
    // at most 5 s (quick: 2 s) of waiting for quiet per sample, 60 s (20 s) in all.
    let rerunsLeft = Math.ceil((rounds * variants.length) / 6);
    let reruns = 0;
    let quietBudgetMs = quick ? 20_000 : 60_000;
    const quiet = async (): Promise<void> => {
      quietBudgetMs -= await waitForQuiet(FOREIGN_LOAD_LIMIT, Math.min(quick ? 2000 : 5000, Math.max(0, quietBudgetMs)));
    };
    for (let round = 0; round < rounds; round += 1) {
      const order = roundOrder(variants, round);
      for (const variant of order) {
        await quiet();
        let sample = await runRound(serverOf(servers, variant), load);
        for (let again = 0; sample.foreignCores > FOREIGN_LOAD_LIMIT && again < 2 && rerunsLeft > 0; again += 1) {
          rerunsLeft -= 1;
          reruns += 1;
          await quiet();
          sample = await runRound(serverOf(servers, variant), load);
        }
        samples.get(variant.id)?.push(sample);
      }
      log(`throughput: round ${round + 1}/${rounds} done (${order.map((v) => v.id).join(', ')})`);
    }
    // Head-to-head: every pair once per pass, so drift spreads over all of them.
    const pairs = [
      ...variants.filter((v) => !v.baseline).map((v) => ({ key: v.id, variant: serverOf(servers, v), framework: v.framework })),
      ...controlIds.map((id) => ({ key: `${id}#control`, variant: servers.get(`${id}#control`), framework: variants.find((v) => v.id === id)?.framework })),
    ];
    const duelRuns = new Map<string, Duel[]>(pairs.map((p) => [p.key, []]));
    for (let pass = 0; pass < duels; pass += 1) {
      for (const pair of pairs) {
        const baseline = variants.find((v) => v.baseline && v.framework === pair.framework);
        if (!baseline || !pair.variant) continue;
        await waitForQuiet(FOREIGN_LOAD_LIMIT, quick ? 1000 : 2000);
        duelRuns.get(pair.key)?.push(await runDuel(pair.variant, serverOf(servers, baseline), load));
      }
      log(`throughput: head-to-head pass ${pass + 1}/${duels} done`);
    }
    const duelResults = new Map<string, DuelResult>([...duelRuns].filter(([, runs]) => runs.length > 0).map(([key, runs]) => [key, summarizeDuels(runs)]));
    const controls: ThroughputResult['controls'] = [];
    for (const id of controlIds) {
      const framework = variants.find((v) => v.id === id)?.framework;
      const duel = duelResults.get(`${id}#control`);
      if (framework && duel) controls.push({ framework, duel });
    }
    return {
      load,
      rounds,
      duels,
      controls,
      warmup,
      warmupSeconds,
      pinned,
      durationMs: performance.now() - started,
      reruns,
      quietWaitSeconds: ((quick ? 20_000 : 60_000) - quietBudgetMs) / 1000,
      variants: variants.map((variant) => {
        const summary = summarize(variant, variants, samples);
        const duel = duelResults.get(variant.id);
        return duel ? { ...summary, duel } : summary;
      }),
    };
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
    // Every online CPU again (availableParallelism() would now say 1), so the drain bench's processes are not pinned.
    if (pinned) pinSelf(`0-${cpus().length - 1}`);
  }
}

function summarize(variant: ThroughputVariant, all: readonly ThroughputVariant[], samples: Map<string, RoundSample[]>): VariantResult {
  const own = samples.get(variant.id) ?? [];
  const baseline = all.find((v) => v.baseline && v.framework === variant.framework);
  const base = baseline ? (samples.get(baseline.id) ?? []) : [];
  const quiet = (s: RoundSample | undefined): boolean => s !== undefined && s.foreignCores <= FOREIGN_LOAD_LIMIT;
  const cleanRounds = own.filter((sample, i) => quiet(sample) && quiet(base[i])).length;
  // Ratios from quiet rounds only, unless too few were quiet to mean anything.
  const useAll = cleanRounds < Math.min(3, own.length);
  const paired = (pick: (s: RoundSample) => number): number =>
    median(own.map((sample, i) => {
      const reference = base[i];
      if (!reference || (!useAll && !(quiet(sample) && quiet(reference)))) return Number.NaN;
      return pick(sample) / pick(reference);
    }));
  return {
    variant,
    samples: own,
    requestsPerSecond: median(own.map((s) => s.requestsPerSecond)),
    ratioToBare: paired((s) => s.requestsPerSecond),
    cpuRatioToBare: paired((s) => s.requestsPerCpuSecond),
    spread: spread(own.map((s) => s.requestsPerSecond)),
    p50Ms: median(own.map((s) => s.p50Ms)),
    p99Ms: median(own.map((s) => s.p99Ms)),
    serverCpuShare: median(own.map((s) => s.serverCpuShare)),
    failures: own.reduce((sum, s) => sum + s.failures, 0),
    cleanRounds,
  };
}

/**
 * The order of one round: framework by framework (so a variant is measured
 * close in time to its baseline), each framework's variants rotated by the
 * round number and reversed every other round, and the frameworks' order
 * swapped every other round too.
 */
function roundOrder(variants: readonly ThroughputVariant[], round: number): ThroughputVariant[] {
  const frameworks = [...new Set(variants.map((v) => v.framework))];
  if (round % 2 === 1) frameworks.reverse();
  return frameworks.flatMap((framework) => {
    const group = variants.filter((v) => v.framework === framework);
    const shift = round % group.length;
    const rotated = [...group.slice(shift), ...group.slice(0, shift)];
    return round % 2 === 1 ? rotated.reverse() : rotated;
  });
}

/** Fails fast when a variant does not answer the route (and its probes) as expected. */
async function checkServes(variant: ThroughputVariant, server: ThroughputServer): Promise<void> {
  const response = await fetch(`${server.url}${ORDER_PATH}`);
  const body: unknown = await response.json();
  if (response.status !== 200 || !isDeepStrictEqual(body, orderBody('42'))) {
    throw new Error(`${variant.id}: GET ${ORDER_PATH} answered ${response.status} ${JSON.stringify(body)}`);
  }
  for (const path of variant.probes) {
    const probe = await fetch(`${server.url}${path}`);
    const text = await probe.text();
    if (probe.status !== 200) throw new Error(`${variant.id}: GET ${path} answered ${probe.status}`);
    // A metrics endpoint must show the request just made, under the route template.
    if (path === '/metrics' && !text.includes(`"${ORDER_ROUTE}"`)) throw new Error(`${variant.id}: GET /metrics has no series of the route ${ORDER_ROUTE}`);
  }
}

function serverOf(servers: Map<string, ThroughputServer>, variant: ThroughputVariant): ThroughputServer {
  const server = servers.get(variant.id);
  if (!server) throw new Error(`${variant.id}: not started`);
  return server;
}

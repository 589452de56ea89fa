// The API-versioning benchmark: per framework, the same orders API
// (versioning-fixture.ts) served bare, with Baton but no versioning, and with
// Baton's versioning to a client on the latest version and to one five
// versions behind (versioning-server.ts). Every app's answers are checked
// against the expected bodies and headers first. Then two measurements:
//
// - twins: one process per framework serves all the apps on their own ports;
//   the parent loads them in turn with bounded bursts (order rotated every
//   round) and reads the process's CPU time around each burst. Same process,
//   JIT, heap and CPU for all, so the machine's drift hits them alike; the
//   differences of same-round CPU per request are what each step costs, in µs.
//   A second bare app is the A/A control.
// - throughput: each app a server process of its own (all on one core, the
//   load generator on the other), duration-bounded rounds, interleaved,
//   ratios to bare in the same round, in req/s and per server CPU second.
//   Indicative only on a shared machine (see the README's A/A figures).
//
// Everything is bounded: bursts by request count, rounds by duration, waits
// for a quiet machine by a budget; servers exit when this process goes away.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import { canPin, pinSelf, stopChild } from './process-control.js';
import { benchRequest, bodySizes, CHANGES, LATEST, OLDEST, VERSION_LIST, type BenchRequest, type Client } from './versioning-fixture.js';
import type { VersioningApp } from './versioning-apps.js';
import { FOREIGN_LOAD_LIMIT } from './throughput.js';
import { foreignCores, readCpu, waitForQuiet } from './throughput-machine-load.js';
import { serverNodeFlags } from './throughput-server.js';
import { median, spread } from './throughput-stats.js';
import { runVersioningWorkIsolated, type VersioningWorkResult } from './versioning-work.js';

export type Framework = 'express' | 'fastify';
export type Route = 'GET' | 'POST';
export const ROUTES: readonly Route[] = ['GET', 'POST'];

/** The issue's target: a latest-version request keeps at least this share of bare throughput (overhead ≤ 3%). */
export const VERSIONING_TARGET = 0.97;

/** The twins, in the order of a round before rotation. */
export const TWINS = ['bare', 'bareTwin', 'baton', 'latest', 'oldest'] as const satisfies readonly VersioningApp[];
export type Twin = (typeof TWINS)[number];
/** The separate-process servers (no A/A twin there: its figures would be the throughput part's control). */
export const SERVERS = ['bare', 'baton', 'latest', 'oldest'] as const satisfies readonly VersioningApp[];
export type ServerApp = (typeof SERVERS)[number];

/** What each app is sent: no version to the unversioned apps, the latest or the oldest to the versioned ones. */
export const CLIENT_OF: Record<VersioningApp, Client> = { bare: 'none', bareTwin: 'none', baton: 'none', latest: 'latest', oldest: 'oldest' };

/** A median with the middle half of the values around it. */
export interface Spread {
  median: number;
  q1: number;
  q3: number;
}

/** The differences the report shows, each the median of same-round differences (µs per request) and ratios. */
export const STEPS = {
  control: { of: 'bareTwin', over: 'bare' },
  baton: { of: 'baton', over: 'bare' },
  versioningLatest: { of: 'latest', over: 'baton' },
  latest: { of: 'latest', over: 'bare' },
  fiveBehind: { of: 'oldest', over: 'latest' },
  oldest: { of: 'oldest', over: 'bare' },
} as const satisfies Record<string, { of: Twin; over: Twin }>;
export type Step = keyof typeof STEPS;

/** One route's twin figures. */
export interface TwinRouteResult {
  requestsPerBurst: number;
  /** Median CPU µs per request of each twin. */
  micros: Record<Twin, number>;
  /** Per step: `of` − `over` in µs per request (same round), and `over` ÷ `of` CPU per request (the share of throughput per CPU kept). */
  steps: Record<Step, { addedMicros: Spread; ratio: Spread }>;
  /** The same-round values of `ratio` for the target steps, for the spread. */
  samples: Record<Twin, number[]>;
  failed: number;
}

/** One route's separate-process throughput figures. */
export interface ThroughputRouteResult {
  /** Median req/s over rounds. */
  requestsPerSecond: Record<ServerApp, number>;
  /** Median over rounds of app ÷ bare in the same round: req/s, and requests per server CPU second. */
  ratioToBare: Record<ServerApp, number>;
  cpuRatioToBare: Record<ServerApp, number>;
  /** Same with Baton without versioning as the reference. */
  cpuRatioToBaton: Record<ServerApp, number>;
  spread: Record<ServerApp, number>;
  serverCpuShare: Record<ServerApp, number>;
  /** Rounds whose samples were all taken on a quiet machine (the ratios use these unless fewer than 3). */
  quietRounds: number;
  rounds: number;
  failed: number;
}

/** One framework's figures. */
export interface FrameworkVersioningResult {
  framework: Framework;
  /** What was checked before timing (one line per app and route). */
  checks: string[];
  twins: { rounds: number; routes: Record<Route, TwinRouteResult> };
  throughput?: { rounds: number; durationSeconds: number; routes: Record<Route, ThroughputRouteResult> };
}

/** What {@link runVersioningBench} measured, with its settings. */
export interface VersioningBenchResult {
  versions: { oldest: string; latest: string; count: number; changes: number };
  sizes: ReturnType<typeof bodySizes>;
  connections: number;
  pinned: boolean;
  frameworks: FrameworkVersioningResult[];
  /** Baton's versioning calls alone, per request, in a fresh process (versioning-work.ts); undefined when it failed. */
  work?: VersioningWorkResult;
  workError?: string;
  /** Frameworks left out, and why (e.g. an adapter without the option). */
  skipped: { framework: Framework; why: string }[];
  seconds: number;
}

/** Options of {@link runVersioningBench}. */
export interface VersioningBenchOptions {
  quick?: boolean;
  /** Twins rounds (default 32, quick 12). */
  rounds?: number;
  /** Requests per twin burst (default: Express 600, Fastify 2,000). */
  requestsPerBurst?: Partial<Record<Framework, number>>;
  /** Separate-process throughput rounds (default 4, quick 2; 0 skips them). */
  throughputRounds?: number;
  frameworks?: readonly Framework[];
  log?: (line: string) => void;
}

const CONNECTIONS = 10;

/** Runs the benchmark for each framework in turn. */
export async function runVersioningBench(options: VersioningBenchOptions = {}): Promise<VersioningBenchResult> {
  const started = performance.now();
  const quick = options.quick ?? false;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const pinned = canPin();
  const frameworks: FrameworkVersioningResult[] = [];
  const skipped: VersioningBenchResult['skipped'] = [];
  let work: VersioningWorkResult | undefined;
  let workError: string | undefined;
  try {
    log('versioning: Baton\'s versioning calls alone, in a fresh process...');
    work = await runVersioningWorkIsolated({ rounds: quick ? 6 : 15 });
  } catch (error) {
    workError = error instanceof Error ? error.message : String(error);
    log(`versioning: the in-process loop failed: ${workError}`);
  }
  if (pinned) pinSelf('0');
  try {
    for (const framework of options.frameworks ?? (['express', 'fastify'] as const)) {
      const why = await unsupported(framework);
      if (why !== undefined) {
        log(`versioning: ${framework} skipped: ${why}`);
        skipped.push({ framework, why });
        continue;
      }
      frameworks.push(await measureFramework(framework, { quick, pinned, log, ...(options.requestsPerBurst ? { requestsPerBurst: options.requestsPerBurst } : {}), rounds: options.rounds ?? (quick ? 12 : 32), throughputRounds: options.throughputRounds ?? (quick ? 2 : 4) }));
    }
  } finally {
    if (pinned) pinSelf(`0-${cpus().length - 1}`);
  }
  return {
    versions: { oldest: OLDEST, latest: LATEST, count: VERSION_LIST.length, changes: CHANGES.length },
    sizes: bodySizes(),
    connections: CONNECTIONS,
    pinned,
    frameworks,
    ...(work ? { work } : {}),
    ...(workError ? { workError } : {}),
    skipped,
    seconds: Math.round((performance.now() - started) / 1000),
  };
}

/** Undefined when the framework's adapter takes the versioning option; else why not (the app then cannot be built). */
async function unsupported(framework: Framework): Promise<string | undefined> {
  const server = await startServer(framework, ['latest'], { pinned: false, singleThreaded: false }).catch((error: unknown) => error);
  if (server instanceof Error || !(typeof server === 'object' && server !== null && 'stop' in server)) {
    return `its versioned app did not start (${server instanceof Error ? server.message.split('\n')[0] : String(server)})`;
  }
  const running = server as VersioningServer;
  try {
    const response = await send(running.ports.latest as number, benchRequest('GET', 'latest'));
    return response.headers.get('api-version') === LATEST ? undefined : `@baton/${framework} ignores the \`versioning\` option (no Api-Version header in its answer)`;
  } finally {
    await running.stop();
  }
}

interface MeasureSettings {
  quick: boolean;
  requestsPerBurst?: Partial<Record<Framework, number>>;
  pinned: boolean;
  rounds: number;
  throughputRounds: number;
  log: (line: string) => void;
}

async function measureFramework(framework: Framework, settings: MeasureSettings): Promise<FrameworkVersioningResult> {
  const { log } = settings;
  const twins = await startServer(framework, TWINS, { pinned: settings.pinned, singleThreaded: true });
  let checks: string[];
  let twinResult: FrameworkVersioningResult['twins'];
  try {
    checks = [];
    for (const twin of TWINS) for (const route of ROUTES) checks.push(await check(framework, twin, twins.ports[twin] as number, route));
    log(`versioning: ${framework} — every app answers as expected (${checks.length} checks); twins, ${settings.rounds} rounds...`);
    twinResult = { rounds: settings.rounds, routes: await measureTwins(framework, twins, settings) };
  } finally {
    await twins.stop();
  }
  const result: FrameworkVersioningResult = { framework, checks, twins: twinResult };
  if (settings.throughputRounds > 0) result.throughput = await measureThroughput(framework, settings);
  return result;
}

// ---- Checks ------------------------------------------------------------------

/** Fails unless `app` answers `route` with the body, status and version headers its client must get. */
async function check(framework: Framework, app: VersioningApp, port: number, route: Route): Promise<string> {
  const request = benchRequest(route, CLIENT_OF[app]);
  const response = await send(port, request);
  const text = await response.text();
  const where = `${framework} ${app}: ${request.method} ${request.path}${request.echoes ? ` (Api-Version ${request.echoes})` : ''}`;
  const problem = answerProblem(app, request, response.status, (name) => response.headers.get(name), text);
  if (problem !== undefined) throw new Error(`${where} ${problem}`);
  return `${where} → ${answerSummary(app, request, response.status, text)}`;
}

/**
 * What is wrong with an answer of `app` to `request` (status, body, the
 * echoed `Api-Version`, the deprecation headers of the oldest version), or
 * undefined when it is what its client must get. Also used by the
 * instruction counts (instructions/sequences.ts), which send their own requests.
 */
export function answerProblem(app: VersioningApp, request: BenchRequest, status: number, header: (name: string) => string | null, text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `answered ${status} with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  if (status !== request.status || !isDeepStrictEqual(body, request.expected)) {
    return `answered ${status} ${text.slice(0, 600)}; expected ${request.status} ${JSON.stringify(request.expected).slice(0, 600)}`;
  }
  const echoed = header('api-version');
  if ((request.echoes ?? null) !== echoed) return `: Api-Version header ${JSON.stringify(echoed)}, expected ${JSON.stringify(request.echoes ?? null)}`;
  const deprecation = header('deprecation');
  if (app === 'oldest' && (deprecation === null || header('sunset') === null)) return ': no Deprecation/Sunset headers for the deprecated oldest version';
  if (app !== 'oldest' && deprecation !== null) return `: a Deprecation header (${deprecation}) on a version that is not deprecated`;
  return undefined;
}

/** How a correct answer is described in the checks' lines. */
export function answerSummary(app: VersioningApp, request: BenchRequest, status: number, text: string): string {
  const shape = app === 'oldest' ? `the ${OLDEST} shape` : request.echoes ? `the ${LATEST} shape` : 'the newest shape';
  return `${status}, ${Buffer.byteLength(text).toLocaleString('en-US')} B, ${shape}${app === 'oldest' ? ', Deprecation and Sunset headers' : ''}`;
}

function send(port: number, request: BenchRequest): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${request.path}`, { method: request.method, headers: request.headers, ...(request.body === undefined ? {} : { body: request.body }) });
}

// ---- Twins ---------------------------------------------------------------------

async function measureTwins(framework: Framework, server: VersioningServer, settings: MeasureSettings): Promise<Record<Route, TwinRouteResult>> {
  // Short bursts (~0.1 s of one core) and many rounds: the neighbours' load moves within seconds, so
  // same-round pairs close in time agree best, and a median over 32 rounds settled where one over 20
  // rounds of bursts four times longer did not (the rounds' ratios spread as much either way).
  const amount = settings.requestsPerBurst?.[framework] ?? (framework === 'express' ? 600 : 2000);
  const samples = Object.fromEntries(ROUTES.map((route) => [route, Object.fromEntries(TWINS.map((twin) => [twin, [] as number[]]))])) as Record<Route, Record<Twin, number[]>>;
  const failed: Record<Route, number> = { GET: 0, POST: 0 };
  // Warm-up: the JIT settles on every path before anything counts (a first pass came out up to 2x slower than a third).
  for (let pass = 0; pass < 3; pass += 1) for (const route of ROUTES) for (const twin of TWINS) await burst(server, twin, route, amount);
  for (let round = 0; round < settings.rounds; round += 1) {
    const order = TWINS.map((_, i) => TWINS[(i + round) % TWINS.length] as Twin);
    for (const route of round % 2 === 0 ? ROUTES : [...ROUTES].reverse()) {
      for (const twin of round % 2 === 0 ? order : [...order].reverse()) {
        const sample = await burst(server, twin, route, amount);
        samples[route][twin].push(sample.microsPerRequest);
        failed[route] += sample.failed;
      }
    }
    if ((round + 1) % 8 === 0 || round + 1 === settings.rounds) settings.log(`versioning: ${framework} twins round ${round + 1}/${settings.rounds} done`);
  }
  return Object.fromEntries(ROUTES.map((route) => [route, summarizeTwins(samples[route], amount, failed[route])])) as Record<Route, TwinRouteResult>;
}

function summarizeTwins(samples: Record<Twin, number[]>, amount: number, failed: number): TwinRouteResult {
  const steps = Object.fromEntries(
    Object.entries(STEPS).map(([step, { of, over }]) => {
      const added = samples[of].map((value, i) => value - (samples[over][i] as number));
      const ratio = samples[of].map((value, i) => (samples[over][i] as number) / value);
      return [step, { addedMicros: spreadOf(added), ratio: spreadOf(ratio) }];
    }),
  ) as TwinRouteResult['steps'];
  return { requestsPerBurst: amount, micros: Object.fromEntries(TWINS.map((twin) => [twin, median(samples[twin])])) as Record<Twin, number>, steps, samples, failed };
}

async function burst(server: VersioningServer, app: VersioningApp, route: Route, amount: number): Promise<{ microsPerRequest: number; failed: number }> {
  const request = benchRequest(route, CLIENT_OF[app]);
  const before = await server.cpuMicros();
  const result = await autocannon({ ...loadOf(server, app, request), amount, timeout: 10 });
  const after = await server.cpuMicros();
  const ok = okCount(result, request);
  return { microsPerRequest: (after - before) / Math.max(1, ok), failed: amount - ok };
}

function loadOf(server: VersioningServer, app: VersioningApp, request: BenchRequest): autocannon.Options {
  return {
    url: `http://127.0.0.1:${server.ports[app] as number}${request.path}`,
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    connections: CONNECTIONS,
    pipelining: 1,
    // autocannon notices the end of a run only on its sampling tick (default every 1 s): a burst of
    // 0.2 s would take a whole second. Ticking every 20 ms ends each run promptly.
    sampleInt: 20,
  };
}

/** Answers with the expected status (autocannon's 2xx count; the POST answers 201). */
function okCount(result: autocannon.Result, request: BenchRequest): number {
  return request.status >= 200 && request.status < 300 ? result['2xx'] : 0;
}

// ---- Throughput (separate processes) ---------------------------------------------

async function measureThroughput(framework: Framework, settings: MeasureSettings): Promise<NonNullable<FrameworkVersioningResult['throughput']>> {
  const durationSeconds = settings.quick ? 0.75 : 1;
  const warmupSeconds = settings.quick ? 1 : 1.5;
  const servers = new Map<ServerApp, VersioningServer>();
  try {
    for (const app of SERVERS) {
      const server = await startServer(framework, [app], { pinned: settings.pinned, singleThreaded: false });
      servers.set(app, server);
      for (const route of ROUTES) await check(framework, app, server.ports[app] as number, route);
    }
    settings.log(`versioning: ${framework} throughput — ${SERVERS.length} server processes${settings.pinned ? ' on CPU 1, load on CPU 0' : ''}; warm-up ${warmupSeconds} s each, then ${settings.throughputRounds} rounds of ${durationSeconds} s per app and route`);
    for (const app of SERVERS) for (const route of ROUTES) await timedRound(serverOf(servers, app), app, route, warmupSeconds / ROUTES.length);
    const samples = Object.fromEntries(ROUTES.map((route) => [route, Object.fromEntries(SERVERS.map((app) => [app, [] as ThroughputSample[]]))])) as Record<Route, Record<ServerApp, ThroughputSample[]>>;
    // Bounded: at most 2 s (quick 1 s) of waiting for a quiet machine per round and route, 10 s in all per framework.
    let quietBudgetMs = 10_000;
    for (let round = 0; round < settings.throughputRounds; round += 1) {
      const shift = round % SERVERS.length;
      const order = [...SERVERS.slice(shift), ...SERVERS.slice(0, shift)];
      for (const route of round % 2 === 0 ? ROUTES : [...ROUTES].reverse()) {
        quietBudgetMs -= await waitForQuiet(FOREIGN_LOAD_LIMIT, Math.min(settings.quick ? 1000 : 2000, Math.max(0, quietBudgetMs)));
        for (const app of round % 2 === 0 ? order : [...order].reverse()) samples[route][app].push(await timedRound(serverOf(servers, app), app, route, durationSeconds));
      }
    }
    return {
      rounds: settings.throughputRounds,
      durationSeconds,
      routes: Object.fromEntries(ROUTES.map((route) => [route, summarizeThroughput(samples[route], settings.throughputRounds)])) as Record<Route, ThroughputRouteResult>,
    };
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }
}

interface ThroughputSample {
  requestsPerSecond: number;
  requestsPerCpuSecond: number;
  serverCpuShare: number;
  foreignCores: number;
  failed: number;
}

async function timedRound(server: VersioningServer, app: ServerApp, route: Route, durationSeconds: number): Promise<ThroughputSample> {
  const request = benchRequest(route, CLIENT_OF[app]);
  const cpuBefore = await server.cpuMicros();
  const machineBefore = readCpu();
  const started = performance.now();
  const result = await autocannon({ ...loadOf(server, app, request), duration: durationSeconds });
  const wallMs = performance.now() - started;
  const cpuMs = ((await server.cpuMicros()) - cpuBefore) / 1000;
  const ok = okCount(result, request);
  return {
    requestsPerSecond: ok / (wallMs / 1000),
    requestsPerCpuSecond: cpuMs > 0 ? ok / (cpuMs / 1000) : Number.NaN,
    serverCpuShare: cpuMs / wallMs,
    foreignCores: foreignCores(machineBefore, readCpu(), cpuMs, wallMs),
    failed: result.errors + result.timeouts + result.non2xx,
  };
}

function summarizeThroughput(samples: Record<ServerApp, ThroughputSample[]>, rounds: number): ThroughputRouteResult {
  const quiet = (round: number): boolean => SERVERS.every((app) => (samples[app][round]?.foreignCores ?? Infinity) <= FOREIGN_LOAD_LIMIT);
  const quietRounds = Array.from({ length: rounds }, (_, round) => round).filter(quiet);
  const used = quietRounds.length >= 3 ? quietRounds : Array.from({ length: rounds }, (_, round) => round);
  const per = <T>(fn: (app: ServerApp) => T): Record<ServerApp, T> => Object.fromEntries(SERVERS.map((app) => [app, fn(app)])) as Record<ServerApp, T>;
  const ratio = (app: ServerApp, reference: ServerApp, pick: (s: ThroughputSample) => number): number =>
    median(used.map((round) => pick(samples[app][round] as ThroughputSample) / pick(samples[reference][round] as ThroughputSample)));
  return {
    requestsPerSecond: per((app) => median(samples[app].map((s) => s.requestsPerSecond))),
    ratioToBare: per((app) => ratio(app, 'bare', (s) => s.requestsPerSecond)),
    cpuRatioToBare: per((app) => ratio(app, 'bare', (s) => s.requestsPerCpuSecond)),
    cpuRatioToBaton: per((app) => ratio(app, 'baton', (s) => s.requestsPerCpuSecond)),
    spread: per((app) => spread(samples[app].map((s) => s.requestsPerSecond))),
    serverCpuShare: per((app) => median(samples[app].map((s) => s.serverCpuShare))),
    quietRounds: quietRounds.length,
    rounds,
    failed: SERVERS.reduce((sum, app) => sum + samples[app].reduce((n, s) => n + s.failed, 0), 0),
  };
}

function serverOf(servers: Map<ServerApp, VersioningServer>, app: ServerApp): VersioningServer {
  const server = servers.get(app);
  if (!server) throw new Error(`versioning: ${app} not started`);
  return server;
}

// ---- Server processes -------------------------------------------------------------

interface VersioningServer {
  ports: Partial<Record<VersioningApp, number>>;
  /** The process's CPU time (user + system) so far, in µs, as it reports it. */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts versioning-server.js serving `apps`, pinned to CPU 1 when `pinned`.
 * `singleThreaded` (the twins): V8 compiles and collects on the main thread,
 * so the CPU time around a burst is that burst's work, not JIT or GC work
 * left over from another twin's. BENCH_CPU_PROF=versioning-<framework>
 * profiles the twins' process.
 */
async function startServer(framework: Framework, apps: readonly VersioningApp[], options: { pinned: boolean; singleThreaded: boolean }): Promise<VersioningServer> {
  const script = fileURLToPath(new URL('./versioning-server.js', import.meta.url));
  const profileId = `versioning-${framework}${apps.length === 1 ? `-${apps[0]}` : ''}`;
  const node = [process.execPath, ...(options.singleThreaded ? ['--single-threaded'] : []), ...serverNodeFlags(profileId), script, framework, apps.join(',')];
  const child = options.pinned
    ? spawn('taskset', ['-c', '1', ...node], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] })
    : spawn(process.execPath, node.slice(1), { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
    process.stderr.write(chunk);
  });
  const stop = (): Promise<void> => stopChild(child);
  try {
    const { ports } = (await nextMessage(child, 20_000)) as { ports: Partial<Record<VersioningApp, number>> };
    return {
      ports,
      stop,
      cpuMicros: async () => {
        const answer = nextMessage(child);
        child.send('cpu');
        return ((await answer) as { cpuMicros: number }).cpuMicros;
      },
    };
  } catch (error) {
    await stop();
    throw new Error(`versioning server (${framework}: ${apps.join(', ')}): ${error instanceof Error ? error.message : String(error)}${stderr.trim() ? `\n${stderr.trim()}` : ''}`);
  }
}

function nextMessage(child: ChildProcess, timeoutMs = 30_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      reject(new Error('no answer'));
    }, timeoutMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}`));
    };
    child.once('exit', onExit);
    child.once('message', (message) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(message);
    });
  });
}

function spreadOf(values: readonly number[]): Spread {
  const sorted = values.filter(Number.isFinite).toSorted((a, b) => a - b);
  const at = (q: number): number => (sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] as number));
  return { median: median(sorted), q1: at(0.25), q3: at(0.75) };
}

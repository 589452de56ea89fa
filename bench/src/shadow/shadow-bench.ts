// What a shadow step costs in the built-in router (issue 23), in one run: the
// real router process in front of two backend processes (stable v1, candidate
// v2 at drain / weight 0), and four scenarios interleaved in rounds — the
// stable backend with no router, the router with shadowing off, on with every
// GET copied (share 1) and on with a tenth copied — each round in another
// order, so the machine's noise hits them alike. Per run: autocannon's fixed
// request count over keep-alive connections (then a smaller one over a single
// connection, for the latency without a queue), the client's latency per request
// (kept to the microsecond, not autocannon's whole-millisecond histogram), the
// CPU time of the router and both backends over the load window (/proc), and
// the router's own count of the copies (mirrored, compared, equal).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { Router, ShadowStatus } from '@baton/deploy';
import { connectBuiltinRouter, startBuiltinRouter, stopBuiltinRouter } from '@baton/router-builtin';
import { measureRouterCpu, processTreeCpu } from '../deploy-router-cpu.js';

export type ScenarioId = 'bare' | 'off' | 'share-1' | 'share-0.1';

export interface Scenario {
  id: ScenarioId;
  label: string;
  /** `direct`: the load goes to the stable backend itself; `router`: through the built-in router. */
  via: 'direct' | 'router';
  /** The shadow step's share; none: shadowing off. */
  share?: number;
}

export const SCENARIOS: readonly Scenario[] = [
  { id: 'bare', label: 'stable backend direct, no router', via: 'direct' },
  { id: 'off', label: 'router, shadow off', via: 'router' },
  { id: 'share-1', label: 'router, shadow on, share 1', via: 'router', share: 1 },
  { id: 'share-0.1', label: 'router, shadow on, share 0.1', via: 'router', share: 0.1 },
];

/** The scenario every ratio is taken against. */
export const BASELINE: ScenarioId = 'off';
export const REQUEST_PATH = '/orders/7';
/** What the shadow step is told: the candidate's release, and the field that differs on purpose. */
export const COMPARE = { ignore: { '*': ['release'] } };

export interface ShadowBenchOptions {
  rounds: number;
  /** Requests per run (one scenario in one round). */
  requests: number;
  connections: number;
  /** Requests per scenario before the first round, not measured. */
  warmupRequests: number;
  /** Requests of each run's second load, over one connection: the latency with no queue of clients. */
  lightRequests: number;
  /** No new round starts after this many seconds (rounds already started finish). */
  budgetSeconds: number;
  /** A run is stopped after this long, whatever it sent. */
  runCapSeconds: number;
  log: (line: string) => void;
}

/** The router's count of a run's copies (its shadow step's final status). */
export interface CopyCount {
  mirrored: number;
  compared: number;
  equal: number;
  different: number;
  candidateErrors: number;
  notInShare: number;
  skipped: number;
  inFlightAtStop: number;
  outcome: ShadowStatus['outcome'];
}

/** The one-connection load of a run. */
export interface LightSample {
  sent: number;
  failed: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Copies the router made of it (shadow scenarios). */
  mirrored?: number;
  equal?: number;
}

/** One scenario's run in one round. */
export interface RunSample {
  round: number;
  /** Its place in the round's order, from 0. */
  position: number;
  sent: number;
  /** 2xx answers. */
  ok: number;
  /** Requests sent and not answered 2xx: non-2xx, errors, timeouts (and any the run's time cap left unsent). */
  failed: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** From the load's start to its last answer. */
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU milliseconds per 1,000 answered requests over the load window; the router's undefined without one. */
  routerCpuMsPer1k?: number;
  stableCpuMsPer1k: number;
  candidateCpuMsPer1k: number;
  copies?: CopyCount;
  /** The run's second load, one connection (no queue of clients); the shadow step restarted for it. */
  light: LightSample;
  /** The machine's load average (1 min) when the run ended. */
  load: number;
}

export interface ScenarioResult {
  scenario: Scenario;
  samples: RunSample[];
}

export interface ShadowBenchResult {
  options: Omit<ShadowBenchOptions, 'log'>;
  scenarios: ScenarioResult[];
  rounds: number;
  seconds: number;
  routerPid: number;
  /** Why fewer rounds ran than asked, if they did. */
  stopped?: string;
}

interface BackendProcess {
  release: string;
  port: number;
  pid: number;
  child: ChildProcess;
}

/** Every child and the router this bench started, killed on any way out (even an exception mid-round). */
const owned = { children: new Set<ChildProcess>(), routerPid: undefined as number | undefined };
function killOwned(): void {
  for (const child of owned.children) child.kill('SIGKILL');
  if (owned.routerPid !== undefined) {
    try {
      process.kill(owned.routerPid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

async function startBackend(release: string): Promise<BackendProcess> {
  const script = fileURLToPath(new URL('./backend.js', import.meta.url));
  const child = spawn(process.execPath, [script, release], { stdio: ['pipe', 'pipe', 'pipe'] });
  owned.children.add(child);
  child.once('exit', () => owned.children.delete(child));
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`backend ${release} did not listen within 10 s: ${stderr}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`backend ${release} exited (${code}) before listening: ${stderr}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return { release, port, pid: child.pid as number, child };
}

async function stopBackend(backend: BackendProcess): Promise<void> {
  const { child } = backend;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** CPU seconds a process (and its reaped children) used so far. */
function cpuSeconds(pid: number): number {
  return processTreeCpu([pid]).seconds;
}

interface Load {
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

/** `sorted`'s q-quantile (nearest rank). */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** One bounded autocannon run of exactly `amount` requests; latencies of the 2xx answers kept as measured (fractional ms). */
async function drive(url: string, amount: number, connections: number, capSeconds: number): Promise<Load> {
  const latencies = new Float64Array(amount);
  let count = 0;
  let lastAnswerAt = 0;
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      // autocannon notices the end of a run on its sampling tick only (default every second): tick every 50 ms.
      { url, connections, amount, pipelining: 1, timeout: 10, sampleInt: 50 },
      (error: unknown, res: autocannon.Result) => {
        clearTimeout(cap);
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(res);
      },
    );
    const cap = setTimeout(() => instance.stop(), capSeconds * 1000);
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      lastAnswerAt = performance.now();
      if (statusCode >= 200 && statusCode < 300 && count < amount) latencies[count++] = responseTime;
    });
  });
  const sorted = latencies.subarray(0, count).sort();
  return {
    sent: amount,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: ((lastAnswerAt > 0 ? lastAnswerAt : performance.now()) - started) / 1000,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
  };
}

function copyCount(status: ShadowStatus | undefined): CopyCount | undefined {
  if (status === undefined) return undefined;
  const sum = (pick: (route: ShadowStatus['routes'][number]) => number): number => status.routes.reduce((total, route) => total + pick(route), 0);
  return {
    mirrored: status.mirrored,
    compared: status.compared,
    equal: sum((route) => route.equal),
    different: sum((route) => route.different),
    candidateErrors: sum((route) => route.candidateErrors),
    notInShare: status.notInShare,
    skipped: status.skipped.method + status.skipped.body + status.skipped.noCandidate,
    inFlightAtStop: status.inFlight,
    outcome: status.outcome,
  };
}

/** The scenarios in round `round`'s order: rotated by one each round. */
export function roundOrder(round: number): Scenario[] {
  const shift = round % SCENARIOS.length;
  return [...SCENARIOS.slice(shift), ...SCENARIOS.slice(0, shift)];
}

export async function runShadowBench(options: ShadowBenchOptions): Promise<ShadowBenchResult> {
  const { log } = options;
  const startedAt = performance.now();
  process.on('exit', killOwned);
  const stateDir = await mkdtemp('/tmp/bsh-');
  const backends: BackendProcess[] = [];
  let router: Router | undefined;
  try {
    const stable = await startBackend('v1');
    backends.push(stable);
    const candidate = await startBackend('v2');
    backends.push(candidate);
    const routerUrl = await startBuiltinRouter({ stateDir, port: 0 });
    router = await connectBuiltinRouter({ stateDir });
    const cpuProbe = measureRouterCpu(stateDir);
    const routerPid = cpuProbe.pids[0];
    if (routerPid === undefined) throw new Error(`no router process found in ${stateDir}`);
    owned.routerPid = routerPid;
    await router.add({ id: 'v1-1', release: 'v1', host: '127.0.0.1', port: stable.port });
    await router.add({ id: 'v2-1', release: 'v2', host: '127.0.0.1', port: candidate.port });
    // The candidate as a shadow step has it: no share of the traffic (drain at weight 0), copies only.
    await router.set([
      { id: 'v1-1', state: 'ready', weight: 100 },
      { id: 'v2-1', state: 'drain', weight: 0 },
    ]);
    const shadow = router.shadow;
    if (shadow === undefined) throw new Error('this build of the built-in router has no shadow steps (router.shadow is missing)');
    await checkAnswers(`http://127.0.0.1:${stable.port}`, routerUrl, shadow);
    log(`shadow bench: router pid ${routerPid} at ${routerUrl}; stable v1 pid ${stable.pid} :${stable.port}, candidate v2 pid ${candidate.pid} :${candidate.port}`);

    const urlOf = (scenario: Scenario): string => `${scenario.via === 'direct' ? `http://127.0.0.1:${stable.port}` : routerUrl}${REQUEST_PATH}`;
    const runOnce = async (scenario: Scenario, amount: number, round: number, position: number): Promise<RunSample> => {
      if (scenario.share !== undefined) await shadow.start({ candidate: 'v2', share: scenario.share, compare: COMPARE });
      const routerBefore = cpuSeconds(routerPid);
      const stableBefore = cpuSeconds(stable.pid);
      const candidateBefore = cpuSeconds(candidate.pid);
      const load = await drive(urlOf(scenario), amount, options.connections, options.runCapSeconds);
      const routerMs = (cpuSeconds(routerPid) - routerBefore) * 1000;
      const stableMs = (cpuSeconds(stable.pid) - stableBefore) * 1000;
      const candidateMs = (cpuSeconds(candidate.pid) - candidateBefore) * 1000;
      // Ends the step: the copies still in flight get their answer first (at most one per connection).
      const copies = scenario.share !== undefined ? copyCount(await shadow.stop()) : undefined;
      // Then the same scenario over one connection, a shadow step of its own: the client's latency without a queue.
      if (scenario.share !== undefined) await shadow.start({ candidate: 'v2', share: scenario.share, compare: COMPARE });
      const lightLoad = await drive(urlOf(scenario), Math.max(1, Math.round((amount * options.lightRequests) / options.requests)), 1, options.runCapSeconds);
      const lightCopies = scenario.share !== undefined ? copyCount(await shadow.stop()) : undefined;
      const light: LightSample = {
        sent: lightLoad.sent,
        failed: lightLoad.sent - lightLoad.ok,
        requestsPerSecond: lightLoad.ok / lightLoad.seconds,
        p50Ms: lightLoad.p50Ms,
        p99Ms: lightLoad.p99Ms,
        ...(lightCopies === undefined ? {} : { mirrored: lightCopies.mirrored, equal: lightCopies.equal }),
      };
      const per1k = (ms: number): number => (load.ok > 0 ? (ms * 1000) / load.ok : Number.NaN);
      const sample: RunSample = {
        round,
        position,
        sent: load.sent,
        ok: load.ok,
        failed: load.sent - load.ok,
        non2xx: load.non2xx,
        errors: load.errors,
        timeouts: load.timeouts,
        seconds: load.seconds,
        requestsPerSecond: load.ok / load.seconds,
        p50Ms: load.p50Ms,
        p99Ms: load.p99Ms,
        stableCpuMsPer1k: per1k(stableMs),
        candidateCpuMsPer1k: per1k(candidateMs),
        light,
        load: loadavg()[0] ?? 0,
      };
      if (scenario.via === 'router') sample.routerCpuMsPer1k = per1k(routerMs);
      if (copies !== undefined) sample.copies = copies;
      return sample;
    };

    log(`shadow bench: warm-up, ${options.warmupRequests.toLocaleString('en-US')} requests per scenario`);
    for (const scenario of SCENARIOS) await runOnce(scenario, options.warmupRequests, -1, -1);

    const results: ScenarioResult[] = SCENARIOS.map((scenario) => ({ scenario, samples: [] }));
    let rounds = 0;
    let stopped: string | undefined;
    for (let round = 0; round < options.rounds; round += 1) {
      const elapsed = (performance.now() - startedAt) / 1000;
      if (elapsed > options.budgetSeconds) {
        stopped = `stopped after ${rounds} of ${options.rounds} rounds: the ${options.budgetSeconds} s budget was spent (${elapsed.toFixed(0)} s)`;
        log(`shadow bench: ${stopped}`);
        break;
      }
      for (const [position, scenario] of roundOrder(round).entries()) {
        const sample = await runOnce(scenario, options.requests, round, position);
        (results.find((r) => r.scenario.id === scenario.id) as ScenarioResult).samples.push(sample);
        log(`  round ${round + 1} ${scenario.id.padEnd(9)} ${describeSample(sample)}`);
      }
      rounds += 1;
    }
    return {
      options: { rounds: options.rounds, requests: options.requests, connections: options.connections, warmupRequests: options.warmupRequests, lightRequests: options.lightRequests, budgetSeconds: options.budgetSeconds, runCapSeconds: options.runCapSeconds },
      scenarios: results,
      rounds,
      seconds: (performance.now() - startedAt) / 1000,
      routerPid,
      ...(stopped === undefined ? {} : { stopped }),
    };
  } finally {
    await router?.shadow?.stop().catch(() => undefined);
    await router?.close().catch(() => undefined);
    await stopBuiltinRouter({ stateDir, timeoutMs: 5000 }).catch((error: unknown) => log(`shadow bench: stopping the router: ${(error as Error).message}`));
    owned.routerPid = undefined;
    await Promise.all(backends.map(stopBackend));
    await rm(stateDir, { recursive: true, force: true });
    process.off('exit', killOwned);
  }
}

/** Before measuring: both paths answer the stable order, the client never sees Baton-Route, and a copy is compared equal. */
async function checkAnswers(direct: string, routed: string, shadow: NonNullable<Router['shadow']>): Promise<void> {
  for (const [name, base] of [
    ['stable backend', direct],
    ['router', routed],
  ] as const) {
    const res = await fetch(`${base}${REQUEST_PATH}`);
    const body = (await res.json()) as { release?: unknown };
    if (res.status !== 200 || body.release !== 'v1') throw new Error(`${name}: GET ${REQUEST_PATH} answered ${res.status} ${JSON.stringify(body)}, not v1's order`);
    if (name === 'router' && res.headers.get('baton-route') !== null) throw new Error('router: the answer kept Baton-Route');
  }
  await shadow.start({ candidate: 'v2', share: 1, compare: COMPARE });
  await (await fetch(`${routed}${REQUEST_PATH}`)).arrayBuffer();
  const status = await shadow.stop();
  const route = status?.routes[0];
  if (status?.mirrored !== 1 || route?.route !== 'GET /orders/:id' || route.equal !== 1) {
    throw new Error(`a shadow copy was not compared as equal under GET /orders/:id: ${JSON.stringify(status)}`);
  }
}

export function describeSample(s: RunSample): string {
  const cpu = s.routerCpuMsPer1k === undefined ? '' : `, router ${s.routerCpuMsPer1k.toFixed(0)} ms CPU/1k`;
  const copies = s.copies === undefined ? '' : `, copies ${s.copies.mirrored} mirrored / ${s.copies.compared} compared / ${s.copies.equal} equal`;
  const light = `; 1 connection: p50 ${s.light.p50Ms.toFixed(3)} ms, p99 ${s.light.p99Ms.toFixed(3)} ms${s.light.mirrored === undefined ? '' : `, ${s.light.mirrored} mirrored`}, failed ${s.light.failed}`;
  return `${Math.round(s.requestsPerSecond)} req/s, p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms${cpu}, candidate ${s.candidateCpuMsPer1k.toFixed(0)} ms CPU/1k${copies}, failed ${s.failed}${light}, load ${s.load.toFixed(1)}`;
}

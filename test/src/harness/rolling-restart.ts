import { startHaproxy, type Haproxy, type HaproxyOptions } from './haproxy.js';
import { startInstance, type Instance, type InstanceExit } from './instance.js';
import { startLoad, type LoadReport, type LoadRequest, type RunningLoad } from './load.js';
import { probeStatus, waitForReady } from './readiness.js';

/** Options of {@link runRollingRestart}. */
export interface RollingRestartOptions {
  /** The service script (`node <script>`), e.g. an example's dist/main.js or a fixture. */
  script: string;
  /** Extra env for every instance (e.g. BATON_PROPAGATION_DELAY_MS). */
  env?: Record<string, string>;
  /** Instances behind HAProxy at once. Default 2. */
  instances?: number;
  /** SIGTERM-and-replace rounds. Default 5. */
  restarts?: number;
  /** Per-connection request mixes (connection i uses mixes[i % n]). Default {@link defaultRequestMixes}. */
  mixes?: LoadRequest[][];
  /** Keep-alive connections. Default 32. */
  connections?: number;
  /** Requests-per-second cap over all connections (slow connections stay under their share). Default 2000. */
  ratePerSecond?: number;
  /** Hard time bound of the load. Default 240000 ms (a run on a busy 2-core machine takes about a minute). */
  maxDurationMs?: number;
  /** A replaced instance that has not exited after this is SIGKILLed (and the run says so). Default 30000 ms. */
  exitTimeoutMs?: number;
  /**
   * Drain at the router first, as an orchestrator does: `set server state
   * drain`, wait until HAProxy has no session to the instance, then SIGTERM.
   * Default false (the Kubernetes situation: SIGTERM with no router-side drain).
   */
  routerDrain?: boolean;
  /**
   * Responses the load must receive after each replacement is UP, before the
   * next SIGTERM (and before the load stops): a count, not a time, so each
   * round really has traffic through the new set however busy the machine is.
   * Default 300.
   */
  settleResponses?: number;
  haproxy?: HaproxyOptions;
}

/** One SIGTERM-and-replace round. */
export interface RestartRecord {
  round: number;
  pid: number;
  slot: string;
  replacementSlot: string;
  exit: InstanceExit;
  /** SIGTERM to exit. */
  exitMs: number;
  /** Not exited within exitTimeoutMs; SIGKILLed. */
  killed: boolean;
  /** Baton's `shutdown finished` log entry, when the instance wrote one on stderr. */
  shutdownReport?: Record<string, unknown>;
  /** The instance's stderr tail when its exit was not clean. */
  stderrTail?: string;
  /** Responses the load received from the start of this round's drain (the router's, or else SIGTERM) to the instance's exit: the traffic the drain happened under. */
  responsesDuringDrain: number;
}

/** What a rolling-restart run saw. */
export interface RollingRestartResult {
  load: LoadReport;
  restarts: RestartRecord[];
  /** HAProxy's log of abnormal sessions. */
  haproxyLog: string[];
}

/**
 * Three of four connections send fast GETs and POSTs; every fourth one sends
 * slow requests (up to 1.5 s), so each drain has real work in flight without
 * throttling the overall rate.
 */
export function defaultRequestMixes(): LoadRequest[][] {
  const post: LoadRequest = { method: 'POST', path: '/orders', body: JSON.stringify({ customer: 'c-e2e', items: [{ sku: 'TEA-1', quantity: 2 }] }) };
  const fast: LoadRequest[] = [{ path: '/orders' }, { path: '/orders' }, post, { path: '/orders' }];
  const slow: LoadRequest[] = [{ path: '/slow?ms=300' }, { path: '/orders' }, { path: '/slow?ms=1500' }, post];
  return [fast, fast, fast, slow];
}

/**
 * Two (or more) instances behind a real HAProxy under steady load; then,
 * `restarts` times: start a replacement, give it a slot once its own /readyz
 * answers 200 and wait until HAProxy has it UP, then SIGTERM the oldest
 * instance with no router-side drain (as Kubernetes does: only failing
 * readiness makes HAProxy stop sending), and wait for it to exit. Everything started is stopped before this resolves,
 * also when it throws.
 */
export async function runRollingRestart(options: RollingRestartOptions): Promise<RollingRestartResult> {
  const instanceCount = options.instances ?? 2;
  const rounds = options.restarts ?? 5;
  const exitTimeoutMs = options.exitTimeoutMs ?? 30_000;
  const mixes = options.mixes ?? defaultRequestMixes();
  const settleResponses = options.settleResponses ?? 300;
  const started = new Set<Instance>();
  let haproxy: Haproxy | undefined;
  let load: RunningLoad | undefined;
  const spawn = async (): Promise<Instance> => {
    const instance = await startInstance({ script: options.script, ...(options.env ? { env: options.env } : {}) });
    started.add(instance);
    return instance;
  };

  try {
    haproxy = await startHaproxy({ slots: instanceCount + 2, ...options.haproxy });
    const router = haproxy;
    const slots = new Map<string, Instance | undefined>(router.slots.map((slot) => [slot, undefined]));
    const place = async (instance: Instance): Promise<string> => {
      await waitForReady(instance.url);
      const slot = [...slots].find(([, occupant]) => occupant === undefined)?.[0];
      if (!slot) throw new Error('no free HAProxy slot');
      slots.set(slot, instance);
      await router.api.setServerAddress(router.backend, slot, '127.0.0.1', instance.port);
      await router.api.enableServer(router.backend, slot);
      return slot;
    };

    const first = await Promise.all(Array.from({ length: instanceCount }, () => spawn()));
    await checkRequestMix(first[0] as Instance, mixes.flat());
    for (const instance of first) await place(instance);
    for (const slot of slotsOf(slots)) await waitForUp(router, slot);

    load = startLoad({
      url: router.url,
      connections: options.connections ?? 32,
      mixes,
      ratePerSecond: options.ratePerSecond ?? 2000,
      maxDurationMs: options.maxDurationMs ?? 240_000,
      maxRequests: 2_000_000,
    });
    const running = load;
    // Waits on responses, not on time: a busy machine slows the load down, and
    // a fixed pause would then let the next round start with next to no traffic.
    const settle = (): Promise<void> => running.waitForResponses(running.responses() + settleResponses, 60_000);
    await running.waitForResponses(200, 60_000);

    const records: RestartRecord[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      // The oldest instance goes first, as a rolling update does.
      const [slot, victim] = [...slots].find(([, occupant]) => occupant !== undefined) as [string, Instance];
      // Surge first, as a Kubernetes rolling update of two replicas does (its
      // default maxSurge 25% rounds up to 1, maxUnavailable 25% down to 0): the
      // replacement serves before the victim is signalled, so the victim's
      // drain is never the moment one CPU-starved instance carries everything
      // (beside stress-ng that instance missed two checks and HAProxy had no server).
      const replacement = await spawn();
      const replacementSlot = await place(replacement);
      await waitForUp(router, replacementSlot);
      // The drain starts at the router when it drains first, else at SIGTERM.
      const responsesAtDrain = running.responses();
      if (options.routerDrain) await drainAtRouter(router, slot);
      const terminatedAt = Date.now();
      victim.kill('SIGTERM');
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        victim.kill('SIGKILL');
      }, exitTimeoutMs);
      const exit = await victim.exited;
      clearTimeout(timer);
      const exitMs = Date.now() - terminatedAt;
      const responsesDuringDrain = running.responses() - responsesAtDrain;
      // The slot is free again only in maintenance, so nothing is sent to a reused address by mistake.
      await router.api.disableServer(router.backend, slot);
      slots.delete(slot);
      slots.set(slot, undefined);
      started.delete(victim);
      const record: RestartRecord = { round, pid: victim.pid, slot, replacementSlot, exit, exitMs, killed, responsesDuringDrain };
      const report = shutdownReportOf(victim.stderr());
      if (report) record.shutdownReport = report;
      if (exit.code !== 0) record.stderrTail = victim.stderr().slice(-3000);
      records.push(record);
      await settle();
    }
    await settle();
    const report = await running.stop();
    load = undefined;
    return { load: report, restarts: records, haproxyLog: router.errorLog() };
  } finally {
    await load?.stop().catch(() => undefined);
    await Promise.all([...started].map((instance) => instance.stop()));
    await haproxy?.stop();
  }
}

/** No new sessions to the slot, then wait (bounded) until HAProxy has none open to it. */
async function drainAtRouter(router: Haproxy, slot: string, timeoutMs = 30_000): Promise<void> {
  await router.api.setServerState(router.backend, slot, 'drain');
  const deadline = Date.now() + timeoutMs;
  while ((await router.api.currentSessions(router.backend, slot)) > 0) {
    if (Date.now() > deadline) throw new Error(`HAProxy slot ${slot} still has sessions ${timeoutMs} ms after drain`);
    await sleep(20);
  }
}

function slotsOf(slots: Map<string, Instance | undefined>): string[] {
  return [...slots].filter(([, occupant]) => occupant !== undefined).map(([slot]) => slot);
}

/** Fails early and clearly when the mix does not match the service (a 4xx would otherwise read as a drain failure). */
async function checkRequestMix(instance: Instance, requests: LoadRequest[]): Promise<void> {
  for (const request of requests) {
    const status = await sendOnce(`${instance.url}${request.path}`, request);
    if (status < 200 || status > 299) {
      throw new Error(`request mix: ${request.method ?? 'GET'} ${request.path} answered ${status || 'nothing'} before any restart; fix the mix`);
    }
  }
}

async function sendOnce(url: string, request: LoadRequest): Promise<number> {
  if ((request.method ?? 'GET') === 'GET' && request.body === undefined) return probeStatus(url, 5000);
  const response = await fetch(url, {
    method: request.method ?? 'GET',
    headers: { ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers },
    ...(request.body === undefined ? {} : { body: request.body }),
  }).catch(() => undefined);
  await response?.arrayBuffer().catch(() => undefined);
  return response?.status ?? 0;
}

async function waitForUp(router: Haproxy, slot: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let status = '';
  while (Date.now() < deadline) {
    status = (await router.api.serverStat(router.backend, slot))?.status ?? '';
    if (status.startsWith('UP')) return;
    await sleep(50);
  }
  throw new Error(`HAProxy slot ${slot} not UP within ${timeoutMs} ms (status ${status || 'unknown'})`);
}

/** The last `shutdown finished` entry of Baton's JSON logger. */
function shutdownReportOf(stderr: string): Record<string, unknown> | undefined {
  const line = stderr
    .split('\n')
    .reverse()
    .find((entry) => entry.includes('"shutdown finished"'));
  if (!line) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

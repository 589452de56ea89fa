import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findHaproxy as findHaproxyBinary } from '@baton/router-haproxy';
import { findFreePort } from './free-port.js';
import { RuntimeApi } from './runtime-api.js';

/** Options of {@link startHaproxy}. */
export interface HaproxyOptions {
  /** Server slots declared with `server-template` (s1..sN), all starting in maintenance. Default 4. */
  slots?: number;
  /** Health-check interval in ms. Default 200. */
  interMs?: number;
  /** Failed checks before DOWN. Default 2. */
  fall?: number;
  /** Passed checks before UP. Default 1. */
  rise?: number;
  /**
   * `timeout check`: how long a started check may wait for its answer before
   * it counts as failed. Default 2000: beside stress-ng a healthy instance
   * answered a check only after more than 1 s, twice in a row, and went DOWN
   * with no other server left (503s).
   */
  checkTimeoutMs?: number;
  /** Readiness path HAProxy checks. Default `/readyz`. */
  checkPath?: string;
  /** The haproxy binary. Default: found by {@link findHaproxy}. */
  binary?: string;
}

/** A running HAProxy with one frontend and one backend of template slots. */
export interface Haproxy {
  /** The frontend's port on 127.0.0.1. */
  port: number;
  url: string;
  backend: string;
  /** Slot names, `s1`..`sN`. */
  slots: string[];
  api: RuntimeApi;
  /** Health-check detection time on a quiet machine (inter x fall). */
  detectionMs: number;
  /** The longest this config lets HAProxy take to mark a failing server DOWN ({@link detectionBoundMs}). */
  detectionBoundMs: number;
  /** Error log lines (only abnormal sessions are logged: `option dontlog-normal`). */
  errorLog(): string[];
  /** Stops HAProxy and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

const BACKEND = 'be';
const MAX_LOG_LINES = 2000;
/** `timeout connect`; a check's connect timeout is min(this, inter). */
const CONNECT_TIMEOUT_MS = 2000;

/** The health-check timings of a config, defaults applied. */
interface CheckTimings {
  interMs: number;
  fall: number;
  rise: number;
  checkTimeoutMs: number;
}

function checkTimingsOf(options: HaproxyOptions): CheckTimings {
  const timings = { interMs: options.interMs ?? 200, fall: options.fall ?? 2, rise: options.rise ?? 1, checkTimeoutMs: options.checkTimeoutMs ?? 2000 };
  for (const [name, value] of Object.entries(timings)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`startHaproxy: ${name} must be a positive integer, got ${String(value)}`);
  }
  return timings;
}

/**
 * The longest the generated config lets HAProxy take, once an instance's
 * readiness fails, to mark it DOWN: `fall` failed checks in a row, each
 * started up to `inter` after the previous one ended and each failing at
 * the latest when its connect timeout (HAProxy uses min(timeout connect,
 * inter) for checks) plus `timeout check` ran out. A propagation delay at
 * least this long outlasts HAProxy's detection however slowly a busy machine
 * answers the checks; with the defaults, 2 x (200 + 200 + 2000) = 4800 ms,
 * against 400 ms on a quiet machine.
 */
export function detectionBoundMs(options: HaproxyOptions = {}): number {
  const { interMs, fall, checkTimeoutMs } = checkTimingsOf(options);
  return fall * (interMs + Math.min(CONNECT_TIMEOUT_MS, interMs) + checkTimeoutMs);
}

/** Where haproxy is (PATH, then /usr/sbin, /usr/local/sbin), or undefined when this machine has none (suites then skip). */
export function findHaproxy(): string | undefined {
  return findHaproxyBinary();
}

/** The generated config; exported so a failing test can print it. */
export function haproxyConfig(options: { port: number; socketPath: string; slots: number; checkPath: string } & CheckTimings): string {
  return `global
  # The loopback is shared: two HAProxies must never silently share a port.
  noreuseport
  stats socket ${options.socketPath} mode 600 level admin
  log stdout format raw local0 info
  maxconn 4096

defaults
  mode http
  log global
  option httplog
  # Only abnormal sessions (errors, retries, 5xx, aborts) are logged: that is what a failing run needs.
  option dontlog-normal
  timeout connect ${CONNECT_TIMEOUT_MS}ms
  timeout client 30s
  timeout server 30s
  timeout http-request 10s
  # Longer than the load's pauses, so HAProxy never races the client on an idle connection.
  timeout http-keep-alive 30s
  # Checks get more than inter: a CPU-starved healthy instance must not flap to DOWN.
  timeout check ${options.checkTimeoutMs}ms
  retries 3
  # A refused connection goes to another server at once instead of retrying the dead one.
  option redispatch

frontend fe
  bind 127.0.0.1:${options.port}
  default_backend ${BACKEND}

backend ${BACKEND}
  balance roundrobin
  option httpchk GET ${options.checkPath}
  http-check expect status 200
  # Idle server connections are pooled (runtime-enabled slots otherwise open one connection per request).
  default-server inter ${options.interMs}ms fastinter ${options.interMs}ms downinter ${options.interMs}ms fall ${options.fall} rise ${options.rise} pool-purge-delay 5s pool-max-conn -1
  # Slots reused with "set server addr" + "enable server": "del server" under load crashes 2.6.
  server-template s 1-${options.slots} 127.0.0.1:1 check disabled
`;
}

/**
 * Starts a real HAProxy in the foreground with a generated config in a temp
 * dir. The frontend port is found free first and bound by HAProxy itself;
 * `noreuseport` turns a clash into a startup failure, which is retried.
 */
export async function startHaproxy(options: HaproxyOptions = {}): Promise<Haproxy> {
  const binary = options.binary ?? findHaproxy();
  if (!binary) throw new Error('haproxy not found (apt-get install -y haproxy)');
  const slots = options.slots ?? 4;
  const timings = checkTimingsOf(options);
  const checkPath = options.checkPath ?? '/readyz';
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const dir = await mkdtemp(join(tmpdir(), 'baton-haproxy-'));
    try {
      return await launch({ binary, dir, slots, checkPath, ...timings });
    } catch (error) {
      lastError = error;
      await rm(dir, { recursive: true, force: true });
      if (!(error instanceof PortClashError)) throw error;
    }
  }
  throw new Error(`HAProxy could not bind a free port after 5 attempts: ${String(lastError)}`);
}

class PortClashError extends Error {}

async function launch(setup: { binary: string; dir: string; slots: number; checkPath: string } & CheckTimings): Promise<Haproxy> {
  const port = await findFreePort();
  const socketPath = join(setup.dir, 'admin.sock');
  const configPath = join(setup.dir, 'haproxy.cfg');
  await writeFile(configPath, haproxyConfig({ port, socketPath, ...setup }));
  const child = spawn(setup.binary, ['-f', configPath, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  let stderr = '';
  const keep = (line: string): void => {
    if (line.trim() === '') return;
    log.push(line);
    if (log.length > MAX_LOG_LINES) log.shift();
  };
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    lines.forEach(keep);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await killAndWait(child, exited);
    await rm(setup.dir, { recursive: true, force: true });
  };

  try {
    const api = new RuntimeApi(socketPath);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const message = `HAProxy exited at startup (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`;
        throw /cannot bind|address already in use/i.test(stderr) ? new PortClashError(message) : new Error(message);
      }
      // The stats socket answers only once every listener is bound; asking it
      // (rather than connecting to the frontend) leaves no bogus session in the log.
      if (await frontendOpen(api)) break;
      if (Date.now() > deadline) throw new Error(`HAProxy did not start within 10 s: ${stderr.trim()}`);
      await sleep(25);
    }
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      backend: BACKEND,
      slots: Array.from({ length: setup.slots }, (_, index) => `s${index + 1}`),
      api,
      detectionMs: setup.interMs * setup.fall,
      detectionBoundMs: detectionBoundMs(setup),
      errorLog: () => [...log],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function frontendOpen(api: RuntimeApi): Promise<boolean> {
  try {
    return (await api.showStat()).some((row) => row.pxname === 'fe' && row.svname === 'FRONTEND' && row.status === 'OPEN');
  } catch {
    return false;
  }
}

/** SIGTERM (HAProxy's hard stop), SIGKILL if it lingers. */
async function killAndWait(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The built-in router, Baton's default when HAProxy is not installed: a detached process of its
 * own (`builtin-router-main.ts`), so an orchestrator that dies mid-deploy leaves traffic flowing;
 * started, reached over its admin socket and stopped through its state directory.
 */
import { spawn } from 'node:child_process';
import { closeSync, fchmodSync, openSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive, logSince, socketPathProblem } from '@baton/deploy/kit';
import type { Router } from '@baton/deploy';
import { resolveProxyOptions } from './builtin-proxy-options.js';
import { BuiltinRouterClient, adminCommand, liveStatus, type StatusBody } from './internal/admin-client.js';
import type { ExposeSettings } from './internal/builtin-expose.js';
import { resolveTrafficLimits, type TrafficLimits } from './internal/builtin-traffic-server.js';
import { builtinRouterPaths, isRouterProcess, readProcessRecord, type RouterProcessRecord } from './internal/builtin-state.js';
import { invalid, routerError } from './internal/router-errors.js';

/** Limits on the built-in router's public clients (see {@link StartBuiltinRouterOptions.limits}). */
export type BuiltinRouterLimits = TrafficLimits;
/** What public clients may reach besides the service (see {@link StartBuiltinRouterOptions.expose}). */
export type RouterExposeSettings = ExposeSettings;

export interface BuiltinRouterOptions {
  /** The router's directory: state, admin socket, log. Created (mode 700) when missing. Keep it short: the socket path must fit in 107 bytes. */
  stateDir: string;
}

export interface StartBuiltinRouterOptions extends BuiltinRouterOptions {
  /**
   * The traffic port. Default: the port this state directory's router had
   * before on the same `host` (so a restarted router keeps its URL), else 0
   * (any free port; the bound one is read back).
   */
  port?: number;
  /** The address to listen on, and the traffic URL's host (`127.0.0.2` gives `http://127.0.0.2:PORT`). Default `127.0.0.1`. */
  host?: string;
  /** Keep incoming `X-Forwarded-Proto`/`-Host`, `Forwarded`, `X-Real-IP`... (a TLS terminator in front sets them); default false. */
  trustForwarded?: boolean;
  /**
   * Limits on public clients: connections (past `maxConnections`: 503 with
   * `Retry-After`), time to send headers (408) and between body chunks
   * (408), keep-alive idle time, head size (431), body bytes read before a
   * backend connection is taken. Defaults: 2048 connections, 10 s headers,
   * 30 s body silence, 1 KiB/s least body rate (over 10 s of reading),
   * 30 s keep-alive, 16 KiB head, 64 KiB buffered.
   */
  limits?: Partial<TrafficLimits>;
  /**
   * What public clients may reach besides the service: `{ metrics: false,
   * probeDetails: false }` by default, so `/metrics` and probes with a query
   * (`/healthz?verbose`) are answered 404 by the router. The orchestrator
   * reads instances directly and needs neither. `metricsPaths` and
   * `probePaths` say which paths those are (default `/metrics`; `/livez`,
   * `/readyz`, `/startupz`, `/healthz`).
   */
  expose?: Partial<ExposeSettings>;
  /** How long to wait for the router to listen; default 10000. */
  startTimeoutMs?: number;
}

export interface StopBuiltinRouterOptions extends BuiltinRouterOptions {
  /** How long the router gets to finish in-flight requests and exit before SIGKILL; default 15000. */
  timeoutMs?: number;
}

export interface ConnectBuiltinRouterOptions extends BuiltinRouterOptions {
  /** Per admin command; default 5000. */
  timeoutMs?: number;
}

function resolveStateDir(options: BuiltinRouterOptions | undefined): string {
  if (!options || typeof options.stateDir !== 'string' || options.stateDir === '') throw invalid('`stateDir` (a directory path) is required.');
  const stateDir = resolve(options.stateDir);
  const socket = builtinRouterPaths(stateDir).adminSocket;
  const problem = socketPathProblem(socket, 'admin socket', 'stateDir');
  if (problem !== undefined) throw invalid(problem);
  return stateDir;
}

/** The router's entry: beside this file once built; from src/ (tests under vitest) the built one in dist/. */
function routerMainPath(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? join(dirname(here), '../dist/builtin-router-main.js') : join(dirname(here), 'builtin-router-main.js');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

// ------------------------------------------------------------------ start, connect, stop

/** The running router of `stateDir` (its record and live status), or undefined when none runs there. */
async function runningRouter(stateDir: string, timeoutMs: number): Promise<{ record: RouterProcessRecord; status: StatusBody } | undefined> {
  const record = await readProcessRecord(builtinRouterPaths(stateDir).stateFile);
  if (!record || !isRouterProcess(record.pid, record.identity)) return undefined;
  try {
    return { record, status: await liveStatus(record, timeoutMs) };
  } catch {
    return undefined;
  }
}

/**
 * Spawns the router as a detached process (its own session, so neither a
 * Ctrl-C nor the orchestrator's death reaches it; output to router.log),
 * waits until it listens and answers on its admin socket, and resolves with
 * its traffic URL. Rejects with BATON_ERR_ROUTER, with the router's log, when
 * it exits or does not answer within `startTimeoutMs`, or when a router
 * already runs on `stateDir` (connect to it instead).
 */
export async function startBuiltinRouter(options: StartBuiltinRouterOptions): Promise<string> {
  const stateDir = resolveStateDir(options);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw invalid('`host` must be a host name or IP address.');
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw invalid(`\`port\` must be an integer 0-65535, got ${JSON.stringify(options.port)}.`);
  }
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  // Checked here, before anything is spawned: the router process would only exit 2 with the same message.
  let settings: string;
  try {
    const limits = resolveTrafficLimits(options.limits);
    resolveProxyOptions({ ...(options.expose === undefined ? {} : { expose: options.expose }) });
    settings = JSON.stringify({ limits, ...(options.expose === undefined ? {} : { expose: options.expose }) });
  } catch (error) {
    throw invalid((error as Error).message.replace(/^built-in router: /, ''));
  }
  const paths = builtinRouterPaths(stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });

  const running = await runningRouter(stateDir, 2000);
  if (running) {
    throw routerError(
      `a router already runs on ${stateDir} (pid ${running.status.pid}, ${running.status.url}); connect to it with connectBuiltinRouter() or stop it with stopBuiltinRouter() first.`,
    );
  }
  const previous = await readProcessRecord(paths.stateFile);
  // The port this directory's router had, when it listened on the same address (another address is another listener).
  const port = options.port ?? (previous !== undefined && (previous.host ?? '127.0.0.1') === host ? previous.port : 0);

  const logOffset = await stat(paths.logFile).then(
    (s) => s.size,
    () => 0,
  );
  const logFd = openSync(paths.logFile, 'a', 0o600);
  // O_CREAT's mode applies to a new file only: a log an older Baton created is tightened here.
  fchmodSync(logFd, 0o600);
  const args = [routerMainPath(), '--state-dir', stateDir, '--port', String(port), '--host', host];
  if (options.trustForwarded) args.push('--trust-forwarded');
  args.push('--settings', settings);
  let child;
  try {
    child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd], cwd: stateDir });
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `code ${code}`));
  child.once('error', (error) => (exited = `spawn error ${error.message}`));
  child.unref();

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (exited !== undefined) {
      const log = await logSince(paths.logFile, logOffset);
      throw routerError(`the router process exited at start (${exited}). Its log (${paths.logFile}):\n${log}`);
    }
    const record = await readProcessRecord(paths.stateFile);
    if (record && record.pid === pid) {
      try {
        await liveStatus(record, 1000);
        return record.url;
      } catch {
        // Written but not answering yet: wait.
      }
    }
    if (Date.now() > deadline) {
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      const log = await logSince(paths.logFile, logOffset);
      throw routerError(`the router did not listen within ${startTimeoutMs} ms (killed). Its log (${paths.logFile}):\n${log}`);
    }
    await delay(20);
  }
}

/**
 * A `Router` for the router running on `stateDir` (the one a restarted
 * orchestrator uses). Checks that it answers first: rejects with
 * BATON_ERR_ROUTER when none ever ran there, its process is gone, or its
 * admin socket refuses, before any traffic could be moved.
 */
export async function connectBuiltinRouter(options: ConnectBuiltinRouterOptions): Promise<Router> {
  const stateDir = resolveStateDir(options);
  const timeoutMs = options.timeoutMs ?? 5000;
  const paths = builtinRouterPaths(stateDir);
  const record = await readProcessRecord(paths.stateFile);
  if (!record) throw routerError(`no router has run on ${stateDir} (no readable ${paths.stateFile}); start one with startBuiltinRouter().`);
  if (!isRouterProcess(record.pid, record.identity)) {
    throw routerError(`the router of ${stateDir} is not running (pid ${record.pid} is gone); start it again with startBuiltinRouter(): its backends are kept.`);
  }
  const status = await liveStatus(record, timeoutMs);
  return new BuiltinRouterClient(status.url, record.adminSocket, timeoutMs);
}

/**
 * Stops the router of `stateDir`: asks it over the admin socket (it stops
 * accepting, finishes in-flight requests, exits), falls back to SIGTERM, and
 * SIGKILLs it after `timeoutMs`. Resolves at once when none runs. The
 * persisted backends stay for the next start.
 */
export async function stopBuiltinRouter(options: StopBuiltinRouterOptions): Promise<void> {
  const stateDir = resolveStateDir(options);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const record = await readProcessRecord(builtinRouterPaths(stateDir).stateFile);
  // A stale record whose pid now belongs to another process: nothing of ours runs.
  if (!record || !isRouterProcess(record.pid, record.identity)) return;
  try {
    await adminCommand(record.adminSocket, 'POST', '/v1/shutdown', undefined, 2000);
  } catch {
    try {
      process.kill(record.pid, 'SIGTERM');
    } catch {
      return;
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(record.pid, record.identity)) {
    if (Date.now() > deadline) {
      if (!isRouterProcess(record.pid, record.identity)) return;
      try {
        process.kill(record.pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
      const killDeadline = Date.now() + 2000;
      while (isProcessAlive(record.pid, record.identity) && Date.now() < killDeadline) await delay(20);
      if (isProcessAlive(record.pid, record.identity)) throw routerError(`the router (pid ${record.pid}) did not exit, even after SIGKILL.`);
      return;
    }
    await delay(20);
  }
}


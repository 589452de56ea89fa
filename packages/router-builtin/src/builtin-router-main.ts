/**
 * The built-in router's own process:
 *
 *   node dist/builtin-router-main.js --state-dir DIR [--port N] [--host H] [--trust-forwarded] [--settings JSON]
 *
 * `--settings` is `{ limits?, expose? }` as `startBuiltinRouter()` takes them
 * (checked here too: a bad one exits 2 with the reason).
 *
 * `startBuiltinRouter()` spawns it detached (its own session, stdout and
 * stderr to DIR/router.log), so an orchestrator that dies mid-deploy leaves
 * traffic flowing. It serves traffic on host:port, the admin API on
 * DIR/admin.sock (mode 600), restores its backends and its keep-alive setting
 * from DIR/backends.json and rewrites that file (atomically) on every change,
 * and writes DIR/router.json
 * (pid, port, admin socket) once it listens. SIGTERM, SIGINT or
 * `POST /v1/shutdown`: stops accepting, lets in-flight requests finish (up to
 * 10 s), exits 0.
 *
 * Exit codes: 0 stopped, 2 cannot listen or bad arguments, 3 another router
 * already runs on this state directory, 4 the persisted backends cannot be
 * read, 70 internal error.
 */
import type { Server as HttpServer } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jsonLogger } from '@baton/lifecycle';
import { acceptsConnection, processStartIdentity, readJsonFile, socketPathProblem } from '@baton/deploy/kit';
import { BuiltinProxy } from './builtin-proxy.js';
import { createAdminServer } from './internal/builtin-admin.js';
import type { ExposeSettings } from './internal/builtin-expose.js';
import { createTrafficServer, resolveTrafficLimits, type TrafficLimits } from './internal/builtin-traffic-server.js';
import {
  builtinRouterPaths,
  writeFileAtomic,
  type PersistedBackends,
  type PersistedSettings,
  type RouterProcessRecord,
} from './internal/builtin-state.js';

const DRAIN_MS = 10_000;

const logger = jsonLogger({ name: 'baton-router', write: (line) => process.stdout.write(line) });

function exit(code: number, message: string, fields?: Record<string, unknown>): never {
  logger.error(message, { exitCode: code, ...fields });
  process.exit(code);
}

function listen(server: NetServer | HttpServer, target: { port: number; host: string } | { path: string }): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(target, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
}

async function main(): Promise<void> {
  let values: { 'state-dir'?: string; port?: string; host?: string; 'trust-forwarded'?: boolean; settings?: string };
  try {
    ({ values } = parseArgs({
      options: { 'state-dir': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'trust-forwarded': { type: 'boolean' }, settings: { type: 'string' } },
      strict: true,
    }));
  } catch (error) {
    exit(2, `bad arguments: ${(error as Error).message}`);
  }
  const stateDirArg = values['state-dir'];
  if (stateDirArg === undefined || stateDirArg === '') exit(2, 'bad arguments: --state-dir DIR is required');
  const stateDir = isAbsolute(stateDirArg) ? stateDirArg : resolve(stateDirArg);
  const port = Number(values.port ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) exit(2, `bad arguments: --port must be an integer 0-65535, got ${values.port}`);
  const host = values.host ?? '127.0.0.1';
  let settings: { limits?: Partial<TrafficLimits>; expose?: Partial<ExposeSettings> } = {};
  let limits: TrafficLimits;
  try {
    if (values.settings !== undefined) settings = JSON.parse(values.settings) as typeof settings;
    if (typeof settings !== 'object' || settings === null) throw new Error('not a JSON object { limits?, expose? }');
    limits = resolveTrafficLimits(settings.limits);
  } catch (error) {
    exit(2, `bad arguments: --settings: ${(error as Error).message}`);
  }

  // Everything the router creates (state files, the admin socket) is its user's alone.
  process.umask(0o077);
  const paths = builtinRouterPaths(stateDir);
  const socketProblem = socketPathProblem(paths.adminSocket, 'admin socket', 'state directory');
  if (socketProblem !== undefined) exit(2, socketProblem);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });

  if (existsSync(paths.adminSocket)) {
    if (await acceptsConnection({ path: paths.adminSocket })) exit(3, `another router already answers on ${paths.adminSocket}`);
    await unlink(paths.adminSocket).catch(() => {});
  }

  let persisted: PersistedBackends['backends'] = [];
  let persistedSettings: Partial<PersistedSettings> = {};
  try {
    const value = (await readJsonFile(paths.backendsFile)) as Partial<PersistedBackends> | undefined;
    if (value !== undefined) {
      if (value === null || value.format !== 'baton-builtin-router-backends/1' || !Array.isArray(value.backends)) {
        throw new Error('not a baton-builtin-router-backends/1 file');
      }
      if (value.keepAlive !== undefined && typeof value.keepAlive !== 'boolean') throw new Error(`keepAlive must be true or false, got ${JSON.stringify(value.keepAlive)}`);
      persisted = value.backends;
      if (value.keepAlive !== undefined) persistedSettings = { keepAlive: value.keepAlive };
    }
  } catch (error) {
    exit(4, `cannot read the persisted backends in ${paths.backendsFile}: ${(error as Error).message}`);
  }

  let proxy: BuiltinProxy;
  try {
    proxy = new BuiltinProxy({
      logger,
      trustForwarded: values['trust-forwarded'] ?? false,
      clientBodyTimeoutMs: limits.bodyTimeoutMs,
      clientMinBodyBytesPerSecond: limits.minBodyBytesPerSecond,
      clientBodyRateWindowMs: limits.bodyRateWindowMs,
      requestBufferBytes: limits.bufferBytes,
      ...(settings.expose === undefined ? {} : { expose: settings.expose }),
      onChange: async (backends, changed) => {
        const file: PersistedBackends = { format: 'baton-builtin-router-backends/1', backends, keepAlive: changed.keepAlive };
        await writeFileAtomic(paths.backendsFile, `${JSON.stringify(file, null, 2)}\n`);
      },
    });
  } catch (error) {
    exit(2, `bad arguments: --settings: ${(error as Error).message}`);
  }
  try {
    proxy.restore(persisted, persistedSettings);
  } catch (error) {
    exit(4, `the persisted backends in ${paths.backendsFile} are invalid: ${(error as Error).message}`);
  }

  const traffic = createTrafficServer(proxy, limits, logger);
  try {
    await listen(traffic.server, { port, host });
  } catch (error) {
    exit(2, `cannot listen on ${host}:${port}: ${(error as Error).message}`, { code: (error as NodeJS.ErrnoException).code });
  }
  const address = traffic.server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  const startedAtMs = Date.now();

  let stopping = false;
  const shutdown = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('router stopping', { reason, inFlight: proxy.inFlight });
    traffic.stopAccepting();
    admin.close();
    void (async () => {
      await proxy.idle(DRAIN_MS);
      traffic.closeAll();
      await proxy.close();
      await unlink(paths.adminSocket).catch(() => {});
      logger.info('router stopped', { reason, inFlight: proxy.inFlight });
      process.exit(0);
    })();
  };

  const admin = createAdminServer({
    proxy,
    logger,
    status: () => ({
      pid: process.pid,
      url,
      host,
      port: boundPort,
      startedAtMs,
      inFlight: proxy.inFlight,
      backends: proxy.list().length,
      keepAlive: proxy.keepAlive,
      connections: traffic.connections,
      refusedConnections: traffic.refused,
      limits,
    }),
    shutdown,
  });
  try {
    await listen(admin, { path: paths.adminSocket });
    await chmod(paths.adminSocket, 0o600);
  } catch (error) {
    exit(2, `cannot listen on the admin socket ${paths.adminSocket}: ${(error as Error).message}`);
  }

  const record: RouterProcessRecord = {
    format: 'baton-builtin-router/1',
    pid: process.pid,
    host,
    port: boundPort,
    url,
    adminSocket: paths.adminSocket,
    logFile: paths.logFile,
    startedAtMs,
  };
  const identity = processStartIdentity(process.pid);
  if (identity !== undefined) record.identity = identity;
  await writeFileAtomic(paths.stateFile, `${JSON.stringify(record, null, 2)}\n`);

  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // No terminal to hang up (the router runs in its own session), but a stray SIGHUP must not stop traffic.
  process.on('SIGHUP', () => logger.info('SIGHUP ignored'));
  logger.info('router listening', { url, adminSocket: paths.adminSocket, pid: process.pid, backends: proxy.list().length, keepAlive: proxy.keepAlive });
}

process.on('uncaughtException', (error) => exit(70, `internal error: ${error.stack ?? error.message}`));
process.on('unhandledRejection', (error) => exit(70, `internal error: ${(error as Error)?.stack ?? String(error)}`));

await main();

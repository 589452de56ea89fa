import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fchmodSync, fstatSync, openSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BatonError, ROUTER_DRAINS_FIRST_ENV } from '@baton/lifecycle';
import type { Artifact, InstanceExit, InstanceRecord, Platform, ReleaseSpec } from '@baton/deploy';
import {
  acceptsConnection,
  createRedactor,
  ensurePrivateDirSync,
  findFreePort,
  isProcessAlive,
  lastListeningPort,
  LISTENING_LINE_EXAMPLE,
  PRIVATE_FILE_MODE,
  processEnvironment,
  processStartIdentity,
  secretValuesOf,
} from '@baton/deploy/kit';
import { bundleWorkingDir, storeBundle } from './bundle/bundle-store.js';
import { createLineReader, logTail } from './instance-log.js';
import { pollUntil, sleep, withTimeout } from './internal/waits.js';

/** Options of {@link createLocalProcessPlatform}. */
export interface LocalProcessPlatformOptions {
  /** The deploy's state directory; instance logs go to `<stateDir>/logs/<id>.log`. */
  stateDir: string;
  /** From spawn to a known port; past it the instance is killed and `start` rejects. Default 30 000. */
  listenTimeoutMs?: number;
  /**
   * How the instance's port is found. `'announce'` (default): the instance
   * gets `PORT=0`, binds an ephemeral port and prints one JSON line
   * `{"event":"listening","port":N}` (other fields allowed) on stdout or
   * stderr, as services served through Baton do (see `parseListeningPort`).
   * `'assign'`: for services that cannot print it, the platform picks a free
   * port, passes it as `PORT=N` and waits until the port accepts TCP. That is
   * racy: the port is free when picked, then released for the service to
   * bind, and another process on the machine may bind it first — the instance
   * then fails to listen (and `start` rejects), or, worse, the accepting
   * socket is someone else's. Prefer `'announce'`.
   */
  port?: 'announce' | 'assign';
  /** Interface the instances listen on (`HOST`), and the records' host. Default `127.0.0.1`. */
  host?: string;
  /** How often the log is read while waiting for the port, and an adopted process is checked. Default 50 ms. */
  pollIntervalMs?: number;
  /** Lines of the instance's log quoted in a start error. Default 20. */
  logTailLines?: number;
  /**
   * Promise the instances `BATON_ROUTER_DRAINS_FIRST=1`: every stop of them
   * comes after the router took them out of traffic and waited for their
   * in-flight requests, so a service served through Baton skips its
   * propagation delay on SIGTERM. Only for a caller that keeps it for every
   * stop: `baton deploy`, `baton rollback`, `baton abort` and `baton down`
   * do (the orchestrator retires an instance that way, and `baton down`
   * drains the router first). Default false: stopped by hand, an instance
   * keeps its delay.
   */
  routerDrainsFirst?: boolean;
  /** The store of release bundles (see {@link LocalProcessPlatform.artifact}). Default `<stateDir>/artifacts`. */
  artifactsDir?: string;
}

/**
 * The {@link InstanceRecord} this platform returns: `pid` and `logFile` are
 * always set, and `processStart` (the boot and start time of the process,
 * from /proc on Linux) lets a later orchestrator tell the instance from a
 * process that got its pid after it exited. Keep the whole record (the
 * journal does) and pass it back as it is.
 */
export interface LocalInstanceRecord extends InstanceRecord {
  pid: number;
  logFile: string;
  processStart?: string;
}

/** A {@link Platform} of local processes, plus what only it can tell. */
export interface LocalProcessPlatform extends Platform {
  /**
   * Every instance of this state directory still running, from the records
   * the platform writes to `<stateDir>/instances/<id>.json` the moment it
   * spawns a process — so also an instance whose orchestrator crashed before
   * it could journal it (its `port` is 0 when it never announced one). An
   * orchestrator started again stops the ones its journal does not know.
   * Records of instances that are gone are removed.
   */
  instances(): Promise<LocalInstanceRecord[]>;
  /** Known at once from the process table. */
  isRunning(instance: InstanceRecord): boolean;
  /**
   * A release with `bundle`: copies its `include` files (links followed) into
   * `<artifactsDir>/<sha256 of the manifest>/`, read-only, and returns that
   * artifact; the same files give the same digest, and a bundle already
   * stored is reused. Its instances then run there, in the release's `cwd`
   * relative to the bundle's root. Without `bundle`: undefined (the release
   * runs in place).
   */
  artifact(release: ReleaseSpec): Promise<Artifact | undefined>;
}

/** A process this platform object spawned: its exit is known exactly. */
interface Spawned {
  child: ChildProcess;
  pid: number;
  exit: InstanceExit | undefined;
  exited: Promise<InstanceExit>;
}

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** After SIGKILL a process is gone within milliseconds, unless stuck in the kernel (uninterruptible I/O). */
const KILL_WAIT_MS = 10_000;

/**
 * A {@link Platform} of local processes. Each instance is a detached child
 * (its own process group): Ctrl-C in the orchestrator's terminal or a crash of
 * the orchestrator leaves it running, and an orchestrator started again finds
 * it by the `pid` in its record. Its stdout and stderr are appended to
 * `<stateDir>/logs/<id>.log` — a file, not a pipe, because a pipe whose
 * reader (this orchestrator) died would break the instance at its next write.
 *
 * Instances get the orchestrator's environment plus the release's `env`, then
 * `PORT`, `HOST`, `RELEASE=<version>` and `BATON_INSTANCE=<id>`, and with
 * `routerDrainsFirst` `BATON_ROUTER_DRAINS_FIRST=1`. `stop` sends
 * SIGTERM to the instance's process group (so a service run through a shell
 * or npm gets it too), and SIGKILL at the deadline.
 *
 * An instance this platform object did not start (an earlier orchestrator
 * did) is watched by polling its pid; its exit code cannot be known then, so
 * its {@link InstanceExit} says `code: null` and `signal: 'SIGKILL'` only when
 * this platform killed it.
 *
 * @example
 * const platform = createLocalProcessPlatform({ stateDir: '.baton/orders' });
 * const instance = await platform.start({ version: 'v2', command: 'node', args: ['dist/main.js'] }, { id: 'v2-1' });
 * // ... later, maybe from another orchestrator process:
 * await platform.stop(instance, { deadlineMs: 30_000 });
 */
export function createLocalProcessPlatform(options: LocalProcessPlatformOptions): LocalProcessPlatform {
  const config = resolveOptions(options);
  const logDir = join(config.stateDir, 'logs');
  const recordDir = join(config.stateDir, 'instances');
  const spawned = new Map<string, Spawned>();
  /** Exits this platform saw for processes it did not spawn (it stopped them), by instance id. */
  const adoptedExits = new Map<string, InstanceExit>();

  const ownOf = (instance: InstanceRecord): Spawned | undefined => {
    const own = spawned.get(instance.id);
    return own !== undefined && own.pid === instance.pid ? own : undefined;
  };

  const adoptedAlive = (instance: InstanceRecord): boolean => {
    const pid = instance.pid;
    if (pid === undefined) return false;
    const start = (instance as Partial<LocalInstanceRecord>).processStart;
    if (!isProcessAlive(pid, start)) return false;
    if (start === undefined) {
      // No start time recorded: the environment is the next best proof the pid is still this instance.
      const env = processEnvironment(pid);
      if (env !== undefined && env.get('BATON_INSTANCE') !== instance.id) return false;
    }
    return true;
  };

  const running = (instance: InstanceRecord): boolean => {
    const own = ownOf(instance);
    return own !== undefined ? own.exit === undefined : adoptedAlive(instance);
  };

  async function start(release: ReleaseSpec, startOptions: { id: string; signal?: AbortSignal }): Promise<InstanceRecord> {
    checkRelease(release);
    if (startOptions === null || typeof startOptions !== 'object' || typeof startOptions.id !== 'string' || !INSTANCE_ID.test(startOptions.id)) {
      throw invalid(`start: \`id\` must be 1–128 letters, digits, '.', '_' or '-' (it names the log file); got ${JSON.stringify(startOptions?.id)}.`);
    }
    const { id, signal } = startOptions;
    signal?.throwIfAborted();
    const existing = spawned.get(id);
    if (existing !== undefined && existing.exit === undefined) throw platformError(`start: instance ${id} is already running (pid ${existing.pid}).`);

    const logFile = join(logDir, `${id}.log`);
    const port = config.port === 'assign' ? await findFreePort(config.host).catch((error: unknown) => Promise.reject(platformError(`cannot find a free port on ${config.host}: ${describe(error)}`, error))) : 0;
    // The instance's secrets (its env, and the orchestrator's that it inherits) never reach the
    // log header or an error message from here, even when the command line or the service's own
    // last lines carry them. The log file itself is written by the instance (a file, not a pipe
    // through this process, see above): it is not rewritten, only kept private (0600 in a 0700
    // directory).
    const redactor = createRedactor(secretValuesOf(release, process.env));
    const commandLine = redactor.text([release.command, ...(release.args ?? [])].join(' '));
    // Short enough for a log header and an error message (`node -e <script>` can be long).
    const describeCommand = commandLine.length > 200 ? `${commandLine.slice(0, 200)}…` : commandLine;
    // A pinned release runs from its stored bundle, never from the service directory a later build changes.
    const cwd = release.artifact?.kind === 'bundle' ? bundleWorkingDir(release, release.artifact) : release.cwd ?? process.cwd();
    // spawn() reports a missing cwd as ENOENT of the command, which sends people looking for the wrong thing.
    if (!isDirectory(cwd)) throw platformError(`start: the working directory of ${id}, ${cwd}, is not a directory.`);
    let logFd: number | undefined;
    let logFrom: number;
    try {
      ensurePrivateDirSync(config.stateDir, (name) => name === 'logs' || name === 'instances');
      ensurePrivateDirSync(logDir, () => true);
      logFd = openSync(logFile, 'a', PRIVATE_FILE_MODE);
      // A log an older Baton created keeps its mode on open: tightened here.
      fchmodSync(logFd, PRIVATE_FILE_MODE);
      // A header for people reading the log; the port is looked for only after it.
      writeSync(logFd, `[baton] ${new Date().toISOString()} starting ${id} (release ${release.version}): ${describeCommand}\n`);
      logFrom = fstatSync(logFd).size;
    } catch (error) {
      if (logFd !== undefined) closeSync(logFd);
      throw platformError(`start: cannot open the log of ${id} at ${logFile}: ${describe(error)}`, error);
    }

    let child: ChildProcess;
    try {
      child = spawn(release.command, [...(release.args ?? [])], {
        cwd,
        env: instanceEnvironment(release, { PORT: String(port), HOST: config.host, RELEASE: release.version, BATON_INSTANCE: id }, config.routerDrainsFirst),
        // Its own process group: signals to the orchestrator's group (Ctrl-C) do not reach it.
        detached: true,
        stdio: ['ignore', logFd, logFd],
      });
    } catch (error) {
      closeSync(logFd);
      throw platformError(`start: cannot run ${describeCommand} for ${id}: ${describe(error)}`, error);
    }
    // The child holds its own copy of the descriptor.
    closeSync(logFd);
    if (child.pid === undefined) {
      const error = await new Promise<unknown>((resolveError) => child.once('error', resolveError));
      throw platformError(`start: cannot run ${describeCommand} for ${id}: ${describe(error)}`, error);
    }
    const pid = child.pid;
    // Read at once, while the pid surely is this process.
    const processStart = processStartIdentity(pid);
    const own: Spawned = {
      child,
      pid,
      exit: undefined,
      exited: new Promise((resolveExit) => {
        child.once('exit', (code, exitSignal) => {
          own.exit = { code, signal: exitSignal, atMs: Date.now() };
          resolveExit(own.exit);
        });
      }),
    };
    child.on('error', () => {
      // Signalling a process that is gone; the 'exit' event tells the rest.
    });
    spawned.set(id, own);
    // The orchestrator may exit while the instance runs on.
    child.unref();

    const record: LocalInstanceRecord = {
      id,
      release: release.version,
      host: config.host,
      port,
      url: `http://${urlHost(config.host)}:${port}`,
      pid,
      logFile,
      startedAtMs: Date.now(),
    };
    if (processStart !== undefined) record.processStart = processStart;
    keepRecord(recordDir, record);

    /** Kills the half-started process; its record stays when it survives, so `instances()` still finds it. */
    const kill = async (): Promise<string> => {
      if (own.exit === undefined) {
        signalGroup(pid, 'SIGKILL');
        if ((await withTimeout(own.exited, KILL_WAIT_MS)) === undefined) return `; and process ${pid} did not exit ${KILL_WAIT_MS} ms after SIGKILL (it may still run)`;
      }
      forgetRecord(recordDir, id);
      return '';
    };
    const fail = async (why: string, cause?: unknown): Promise<never> => {
      const survived = await kill();
      const tail = redactor.text(await logTail(logFile, logFrom, config.logTailLines));
      throw platformError(
        `instance ${id} (${describeCommand}) ${why}${survived}${tail === '' ? `; its log ${logFile} is empty` : `; the last lines of ${logFile}:\n${tail}`}`,
        cause,
      );
    };

    const reader = createLineReader(logFile, logFrom);
    const deadline = Date.now() + config.listenTimeoutMs;
    try {
      for (;;) {
        if (signal?.aborted) {
          await kill();
          throw signal.reason;
        }
        const announced = lastListeningPort(await reader.lines());
        if (announced !== undefined && own.exit === undefined) {
          record.port = announced;
          record.url = `http://${urlHost(config.host)}:${announced}`;
          keepRecord(recordDir, record);
          return record;
        }
        if (config.port === 'assign' && own.exit === undefined && (await acceptsConnection({ host: config.host, port }))) {
          // The listener could be another process that took the port (see `port`): it counts only while ours still runs.
          if (own.exit === undefined) return record;
        }
        if (own.exit !== undefined) return await fail(`exited with ${describeExit(own.exit)} before it listened`);
        if (Date.now() > deadline) {
          return await fail(`did not listen within ${config.listenTimeoutMs} ms (${config.port === 'assign' ? notAccepting(port) : NOT_ANNOUNCED}); it was killed`);
        }
        await sleep(config.pollIntervalMs, signal);
      }
    } finally {
      await reader.close();
    }
  }

  async function stop(instance: InstanceRecord, stopOptions: { deadlineMs: number }): Promise<InstanceExit> {
    checkRecord(instance, 'stop');
    const deadlineMs = stopOptions?.deadlineMs;
    if (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs) || deadlineMs < 0) {
      throw invalid(`stop: \`deadlineMs\` must be a number of milliseconds ≥ 0; got ${JSON.stringify(deadlineMs)}.`);
    }
    const exit = await stopProcess(instance, deadlineMs);
    forgetRecord(recordDir, instance.id);
    return exit;
  }

  async function stopProcess(instance: InstanceRecord, deadlineMs: number): Promise<InstanceExit> {
    const own = ownOf(instance);
    if (own !== undefined) {
      if (own.exit !== undefined) return own.exit;
      signalGroup(own.pid, 'SIGTERM');
      const exit = await withTimeout(own.exited, deadlineMs);
      if (exit !== undefined) return exit;
      signalGroup(own.pid, 'SIGKILL');
      const killed = await withTimeout(own.exited, KILL_WAIT_MS);
      if (killed !== undefined) return killed;
      throw platformError(`stop: instance ${instance.id} (pid ${own.pid}) did not exit ${KILL_WAIT_MS} ms after SIGKILL.`);
    }

    // Started by an earlier orchestrator: only its pid is known, so poll it.
    const pid = instance.pid as number;
    const known = (): InstanceExit => adoptedExits.get(instance.id) ?? { code: null, signal: null, atMs: Date.now() };
    if (!adoptedAlive(instance)) return known();
    signalGroup(pid, 'SIGTERM');
    if (await pollUntil(() => !adoptedAlive(instance), deadlineMs, config.pollIntervalMs)) {
      const exit: InstanceExit = { code: null, signal: null, atMs: Date.now() };
      adoptedExits.set(instance.id, exit);
      return exit;
    }
    // Checked again right before SIGKILL: the pid must still be this instance.
    if (adoptedAlive(instance)) signalGroup(pid, 'SIGKILL');
    if (await pollUntil(() => !adoptedAlive(instance), KILL_WAIT_MS, config.pollIntervalMs)) {
      const exit: InstanceExit = { code: null, signal: 'SIGKILL', atMs: Date.now() };
      adoptedExits.set(instance.id, exit);
      return exit;
    }
    throw platformError(`stop: instance ${instance.id} (pid ${pid}) did not exit ${KILL_WAIT_MS} ms after SIGKILL.`);
  }

  function onExit(instance: InstanceRecord, listener: (exit: InstanceExit) => void): () => void {
    checkRecord(instance, 'onExit');
    if (typeof listener !== 'function') throw invalid('onExit: `listener` must be a function.');
    let active = true;
    const call = (exit: InstanceExit): void => {
      if (!active) return;
      active = false;
      try {
        listener(exit);
      } catch {
        // One throwing listener must not break the platform's watch (nor crash the orchestrator from a timer).
      }
    };
    const own = ownOf(instance);
    if (own !== undefined) {
      void own.exited.then(call);
      return () => {
        active = false;
      };
    }
    const check = (): void => {
      if (adoptedAlive(instance)) return;
      clearInterval(timer);
      call(adoptedExits.get(instance.id) ?? { code: null, signal: null, atMs: Date.now() });
    };
    const timer = setInterval(check, config.pollIntervalMs);
    // A watch must not keep the orchestrator's process alive.
    timer.unref();
    setImmediate(check);
    return () => {
      active = false;
      clearInterval(timer);
    };
  }

  async function instances(): Promise<LocalInstanceRecord[]> {
    let names: string[];
    try {
      names = await readdir(recordDir);
    } catch {
      return [];
    }
    const found: LocalInstanceRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      let record: LocalInstanceRecord;
      try {
        record = JSON.parse(await readFile(join(recordDir, name), 'utf8')) as LocalInstanceRecord;
      } catch {
        continue;
      }
      if (typeof record?.id !== 'string' || !Number.isSafeInteger(record.pid)) continue;
      if (running(record)) found.push(record);
      else forgetRecord(recordDir, record.id);
    }
    return found;
  }

  return {
    start,
    stop,
    instances,
    artifact: (release) => {
      if (release === null || typeof release !== 'object' || typeof release.version !== 'string') return Promise.reject(invalid('artifact: expected a release { version, command, bundle? }.'));
      return storeBundle(release, config.artifactsDir);
    },
    isRunning(instance) {
      checkRecord(instance, 'isRunning');
      return running(instance);
    },
    onExit,
  };
}

interface ResolvedOptions {
  routerDrainsFirst: boolean;
  artifactsDir: string;
  stateDir: string;
  listenTimeoutMs: number;
  port: 'announce' | 'assign';
  host: string;
  pollIntervalMs: number;
  logTailLines: number;
}

function resolveOptions(options: LocalProcessPlatformOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object with a `stateDir`.');
  const { stateDir, listenTimeoutMs = 30_000, port = 'announce', host = '127.0.0.1', pollIntervalMs = 50, logTailLines = 20, routerDrainsFirst = false, artifactsDir } = options;
  if (typeof stateDir !== 'string' || stateDir.trim() === '' || stateDir.includes('\0')) {
    throw invalid(`\`stateDir\` must be a directory path; got ${JSON.stringify(stateDir)}.`);
  }
  const positive = (name: string, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalid(`\`${name}\` must be a positive number of milliseconds; got ${JSON.stringify(value)}.`);
  };
  positive('listenTimeoutMs', listenTimeoutMs);
  positive('pollIntervalMs', pollIntervalMs);
  if (port !== 'announce' && port !== 'assign') throw invalid(`\`port\` must be 'announce' or 'assign'; got ${JSON.stringify(port)}.`);
  if (typeof host !== 'string' || host.trim() === '' || /\s/.test(host)) throw invalid(`\`host\` must be a host name or address; got ${JSON.stringify(host)}.`);
  if (!Number.isSafeInteger(logTailLines) || logTailLines < 0) throw invalid(`\`logTailLines\` must be an integer ≥ 0; got ${JSON.stringify(logTailLines)}.`);
  if (typeof routerDrainsFirst !== 'boolean') throw invalid(`\`routerDrainsFirst\` must be true or false; got ${JSON.stringify(routerDrainsFirst)}.`);
  if (artifactsDir !== undefined && (typeof artifactsDir !== 'string' || artifactsDir.trim() === '' || artifactsDir.includes('\0'))) {
    throw invalid(`\`artifactsDir\` must be a directory path; got ${JSON.stringify(artifactsDir)}.`);
  }
  // Resolved once: instances run in other working directories, and a later chdir must not move the logs.
  const absoluteStateDir = resolve(stateDir);
  return { stateDir: absoluteStateDir, artifactsDir: artifactsDir === undefined ? join(absoluteStateDir, 'artifacts') : resolve(artifactsDir), listenTimeoutMs, port, host, pollIntervalMs, logTailLines, routerDrainsFirst };
}

function checkRelease(release: ReleaseSpec): asserts release is ReleaseSpec & { command: string } {
  if (release === null || typeof release !== 'object') throw invalid('start: the release must be { version, command, args?, env?, cwd? }.');
  if (typeof release.version !== 'string' || release.version.trim() === '' || /\s/.test(release.version)) {
    throw invalid(`start: the release's \`version\` must be a non-empty label without spaces; got ${JSON.stringify(release.version)}.`);
  }
  if (release.image !== undefined) throw invalid(`start: the local platform runs commands, not images (release ${release.version} names the image ${JSON.stringify(release.image)}); use a container platform such as @baton/platform-docker.`);
  if (release.artifact !== undefined && release.artifact?.kind !== 'bundle') {
    throw invalid(`start: the local platform runs bundles, not ${JSON.stringify(release.artifact?.kind)} artifacts (release ${release.version}); use the platform that pinned it.`);
  }
  if (typeof release.command !== 'string' || release.command.trim() === '') throw invalid(`start: the release's \`command\` must be a non-empty string; got ${JSON.stringify(release.command)}.`);
  if (release.args !== undefined && (!Array.isArray(release.args) || release.args.some((arg) => typeof arg !== 'string'))) {
    throw invalid('start: the release\'s `args` must be an array of strings.');
  }
  if (release.env !== undefined) {
    if (release.env === null || typeof release.env !== 'object' || Array.isArray(release.env)) throw invalid('start: the release\'s `env` must be an object of strings.');
    const bad = Object.entries(release.env).filter(([, value]) => typeof value !== 'string').map(([name]) => name);
    if (bad.length > 0) throw invalid(`start: the release's \`env\` values must be strings; not: ${bad.join(', ')}.`);
  }
  if (release.cwd !== undefined && (typeof release.cwd !== 'string' || release.cwd === '')) throw invalid('start: the release\'s `cwd` must be a directory path.');
  if (release.secretEnv !== undefined && (!Array.isArray(release.secretEnv) || release.secretEnv.some((name) => typeof name !== 'string' || name === ''))) {
    throw invalid('start: the release\'s `secretEnv` must be an array of environment variable names.');
  }
}

/**
 * The orchestrator's environment, the release's, then the platform's own
 * variables. The router-drain promise is the platform's alone to give: one
 * inherited from the orchestrator's environment, or set in a release's
 * `env`, is dropped unless this platform keeps it.
 */
function instanceEnvironment(release: ReleaseSpec, own: Record<string, string>, routerDrainsFirst: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...release.env, ...own };
  if (routerDrainsFirst) env[ROUTER_DRAINS_FIRST_ENV] = '1';
  else delete env[ROUTER_DRAINS_FIRST_ENV];
  return env;
}

function checkRecord(instance: InstanceRecord, method: string): void {
  if (instance === null || typeof instance !== 'object' || typeof instance.id !== 'string') throw invalid(`${method}: expected an instance record from start().`);
  if (!Number.isSafeInteger(instance.pid) || (instance.pid as number) <= 0) {
    throw invalid(`${method}: instance ${instance.id} has no pid; it was not started by a local process platform.`);
  }
}

/** Writes the record where {@link LocalProcessPlatform.instances} finds it; whole or not at all (temp file, rename). */
function keepRecord(dir: string, record: LocalInstanceRecord): void {
  try {
    ensurePrivateDirSync(dir, () => true);
    const temp = join(dir, `.${record.id}.${process.pid}.tmp`);
    writeFileSync(temp, `${JSON.stringify(record)}\n`, { mode: PRIVATE_FILE_MODE });
    renameSync(temp, join(dir, `${record.id}.json`));
  } catch {
    // Only a help for finding orphans after a crash: the instance runs without it.
  }
}

function forgetRecord(dir: string, id: string): void {
  try {
    unlinkSync(join(dir, `${id}.json`));
  } catch {
    // Gone already.
  }
}

/** Sends `signal` to the instance's process group (it leads one: it was spawned detached), or to the pid alone when there is no group. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') continue;
      throw platformError(`cannot send ${signal} to process ${pid}: ${describe(error)}`, error);
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** What a user must do when the port never came: either way of making it known. */
const NOT_ANNOUNCED =
  `it printed no ${LISTENING_LINE_EXAMPLE} line. A service served through Baton (serve() of @baton/lifecycle, baton(app).serve() of @baton/express, serveFastify() of @baton/fastify) prints it once it listens; ` +
  "any other service: set `platform: { port: 'assign' }` in baton.config (the platform passes a free port in PORT and waits until it accepts connections) and listen on process.env.PORT";

function notAccepting(port: number): string {
  return `nothing accepted connections on port ${port}, the port it was given in PORT (platform.port 'assign'): does it listen on process.env.PORT, on the interface in HOST?`;
}

function describeExit(exit: InstanceExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function invalid(message: string): BatonError {
  return new BatonError('BATON_ERR_INVALID_OPTION', `local process platform: ${message}`);
}

function platformError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_PLATFORM', `local process platform: ${message}`, cause === undefined ? undefined : { cause });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

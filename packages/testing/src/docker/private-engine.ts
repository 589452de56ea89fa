import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DockerEngineHandle } from './default-engine.js';
import { dockerUnavailable } from './docker-unavailable.js';
import { reserveBridge, type EngineBridge } from './internal/bridge.js';
import { engineJson, pingEngine } from './internal/engine-api.js';
import { BRIDGE_FILE, OWNER_FILE, reapAbandonedEngines, removeEngineRemains } from './internal/engine-cleanup.js';
import { enginePath, findExecutable, isProcessAlive, logTail, signal, waitForExit, waitForStopped } from './internal/processes.js';
import { waitForEngine } from './internal/wait-for-engine.js';

/** A second Docker engine of a test's own, modelling another host. */
export interface PrivateDockerEngine extends DockerEngineHandle {
  /** dockerd's pid. */
  pid: number;
  /** The engine's directory (socket, data root, exec root, pid file, log): short, under /tmp. */
  dir: string;
  /** dockerd's log (gone after {@link PrivateDockerEngine.stop}). */
  logPath: string;
  /** Its bridge (`baton-e<N>`) and the bridge's address (`172.31.N.1/24`). */
  bridge: { name: string; cidr: string };
  /**
   * Stops the engine (its containers are killed, dockerd gets SIGTERM) and
   * removes everything it left: processes (also after {@link kill}), mounts,
   * bridge and directory. Safe to call twice and after kill().
   */
  stop(): Promise<void>;
  /** SIGKILL to dockerd — "the engine is lost mid-deploy". Its containers may live on until stop(). */
  kill(): Promise<void>;
  /** SIGSTOP to dockerd — "a slow engine": its socket accepts connections but answers nothing until resume(). Resolves once every dockerd thread is stopped. */
  pause(): Promise<void>;
  /** SIGCONT to a paused dockerd. */
  resume(): Promise<void>;
}

/** Options of {@link startDockerEngine}. */
export interface StartDockerEngineOptions {
  /** The handle's name (default `engine-<N>`, N its bridge's byte). */
  name?: string;
  /** How long dockerd may take to answer (default 60 s). */
  timeoutMs?: number;
  /**
   * Also serve the engine API on `tcp://<host>:<port>`, requiring TLS client
   * certificates (`--tlsverify`), as a remote host's engine does.
   * {@link startTlsDockerEngine} makes the certificates and picks the port.
   */
  tlsListener?: { host: string; port: number; ca: string; cert: string; key: string };
}

/**
 * Starts a private Docker engine: its own dockerd (and containerd), socket,
 * data root, exec root, bridge on a free 172.31.N.0/24 and its own loopback
 * address 127.0.0.N, which it publishes ports on by default. It starts empty:
 * {@link copyImage} brings images over. Test files may start engines at the
 * same time. Stop it in `afterAll`; engines of a test process that died are
 * removed by the next start.
 *
 * @example
 * const engine = await startDockerEngine({ name: 'host-b' });
 * try { ... } finally { await engine.stop(); }
 */
export async function startDockerEngine(options: StartDockerEngineOptions = {}): Promise<PrivateDockerEngine> {
  const reason = dockerUnavailable();
  if (reason !== undefined) throw new Error(`cannot start a Docker engine: ${reason}`);
  await reapAbandonedEngines();

  // Short on purpose: the socket path (and containerd's below the exec root) must fit 107 bytes.
  const dir = mkdtempSync('/tmp/bd-');
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  let bridge: EngineBridge;
  try {
    bridge = await reserveBridge();
  } catch (error) {
    await removeEngineRemains(dir, { name: '', subnetPrefix: '172.31.none.' }, undefined).catch(() => undefined);
    throw error;
  }
  writeFileSync(join(dir, BRIDGE_FILE), bridge.name);

  const socketPath = join(dir, 'docker.sock');
  const logPath = join(dir, 'dockerd.log');
  const address = `127.0.0.${bridge.byte}`;
  // Its own (empty) config file: a machine-wide /etc/docker/daemon.json (hosts, data root) would clash.
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  const log = openSync(logPath, 'a');
  const dockerd = spawn(
    findExecutable('dockerd')!,
    [
      '--host', `unix://${socketPath}`,
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'docker.pid'),
      '--config-file', join(dir, 'daemon.json'),
      '--bridge', bridge.name,
      // The machine's firewall and forwarding belong to the default engine; the proxy publishes ports without them.
      '--iptables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--ip', address,
      // Containers that ignore SIGTERM (node as pid 1 does) must not hold up stop() for 15 s.
      '--shutdown-timeout', '2',
      ...tlsListenerArgs(options.tlsListener),
    ],
    { stdio: ['ignore', log, log], cwd: dir, env: { ...process.env, PATH: enginePath() } },
  );
  closeSync(log);
  dockerd.unref();
  const pid = dockerd.pid;
  const remove = (): Promise<void> => removeEngineRemains(dir, bridge, pid);
  try {
    if (pid === undefined) throw new Error(`could not start dockerd: ${logTail(logPath)}`);
    await waitForEngine({ socketPath, process: dockerd, logPath, timeoutMs: options.timeoutMs ?? 60_000, what: `Docker engine in ${dir}` });
  } catch (error) {
    await remove().catch(() => undefined);
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    name: options.name ?? `engine-${bridge.byte}`,
    socketPath,
    docker: `unix://${socketPath}`,
    address,
    pid,
    dir,
    logPath,
    bridge: { name: bridge.name, cidr: bridge.cidr },
    stop: () => (stopping ??= stopEngine(socketPath, pid, remove)),
    kill: async () => {
      signal(pid, 'SIGKILL');
      await waitForExit(pid, 10_000);
    },
    pause: async () => {
      signal(pid, 'SIGSTOP');
      await waitForStopped(pid, 10_000);
    },
    resume: async () => signal(pid, 'SIGCONT'),
  };
}

function tlsListenerArgs(listener: StartDockerEngineOptions['tlsListener']): string[] {
  if (listener === undefined) return [];
  return [
    '--host', `tcp://${listener.host}:${listener.port}`,
    '--tlsverify',
    '--tlscacert', listener.ca,
    '--tlscert', listener.cert,
    '--tlskey', listener.key,
  ];
}

async function stopEngine(socketPath: string, pid: number, remove: () => Promise<void>): Promise<void> {
  if (isProcessAlive(pid)) {
    signal(pid, 'SIGCONT');
    if (await pingEngine(socketPath, 2_000)) await killContainers(socketPath);
    signal(pid, 'SIGTERM');
    // removeEngineRemains sends SIGKILL to a dockerd still there after this.
    await waitForExit(pid, 20_000);
  }
  await remove();
}

/** Kills every running container at once, so dockerd's shutdown need not wait for each to stop. */
async function killContainers(socketPath: string): Promise<void> {
  try {
    const running = await engineJson<Array<{ Id: string }>>(socketPath, { method: 'GET', path: '/containers/json', timeoutMs: 5_000 });
    await Promise.all(
      running.map((container) =>
        engineJson(socketPath, { method: 'POST', path: `/containers/${container.Id}/kill`, timeoutMs: 10_000 }).catch(() => undefined),
      ),
    );
  } catch {
    // Best effort: the engine's own shutdown and the clean-up after it still remove them.
  }
}

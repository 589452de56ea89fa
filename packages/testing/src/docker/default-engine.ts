import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { dockerUnavailable } from './docker-unavailable.js';
import { withFileLock } from './internal/file-lock.js';
import { waitForEngine } from './internal/wait-for-engine.js';
import { pingEngine } from './internal/engine-api.js';
import { enginePath, findExecutable } from './internal/processes.js';

/** A Docker engine a test talks to. */
export interface DockerEngineHandle {
  /** `default` for the machine's engine; the private engine's own name otherwise. */
  name: string;
  /** The engine API's unix socket. */
  socketPath: string;
  /** The engine's address for a Docker client (`DOCKER_HOST`, `docker -H`): `unix://<socketPath>`. */
  docker: string;
  /**
   * The loopback address this engine publishes ports on: each engine has its
   * own (127.0.0.1 for the default one), so engines model separate hosts even
   * though they share the machine's ephemeral port range.
   */
  address: string;
}

/** The machine's engine socket. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
/** Where {@link ensureDockerEngine} logs a dockerd it starts. */
export const DEFAULT_DOCKERD_LOG = '/tmp/dockerd.log';
const START_LOCK = '/tmp/baton-dockerd-start.lock';

/**
 * The machine's Docker engine at /var/run/docker.sock. When it does not
 * answer, starts `dockerd` detached (it outlives the test run, as a system
 * engine would; log in /tmp/dockerd.log) and waits until it answers `/_ping`.
 * Safe to call from test files running in parallel: one of them starts it.
 */
export async function ensureDockerEngine(options: { timeoutMs?: number } = {}): Promise<DockerEngineHandle> {
  const handle: DockerEngineHandle = { name: 'default', socketPath: DEFAULT_DOCKER_SOCKET, docker: `unix://${DEFAULT_DOCKER_SOCKET}`, address: '127.0.0.1' };
  if (await pingEngine(DEFAULT_DOCKER_SOCKET)) return handle;
  const reason = dockerUnavailable();
  if (reason !== undefined) throw new Error(`the Docker engine at ${DEFAULT_DOCKER_SOCKET} does not answer and cannot be started: ${reason}`);
  const timeoutMs = options.timeoutMs ?? 60_000;
  await withFileLock(START_LOCK, timeoutMs, async () => {
    // Another test file may have started it while this one waited for the lock.
    if (await pingEngine(DEFAULT_DOCKER_SOCKET)) return;
    const log = openSync(DEFAULT_DOCKERD_LOG, 'a');
    const dockerd = spawn(findExecutable('dockerd')!, [], {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: '/',
      env: { ...process.env, PATH: enginePath() },
    });
    closeSync(log);
    dockerd.unref();
    await waitForEngine({ socketPath: DEFAULT_DOCKER_SOCKET, process: dockerd, logPath: DEFAULT_DOCKERD_LOG, timeoutMs, what: 'the default Docker engine' });
  });
  return handle;
}

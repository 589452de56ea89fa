import Docker from 'dockerode';
import type { ResolvedHost } from '../docker-config.js';
import { SshDialAgent } from './ssh-agent.js';

/**
 * A Docker engine of the fleet: its connection and how long a call may take
 * before the engine counts as unreachable for that call.
 */
export interface Engine {
  readonly name: string;
  readonly host: ResolvedHost;
  readonly docker: Docker;
  /**
   * Runs one API call with the engine's time limit (plus `extraMs` for calls
   * that wait on purpose, like a stop). A call that cannot connect or gets no
   * answer in time rejects with {@link EngineUnreachable}; an answer that is
   * an error (404, 409, 500) rejects with the engine's error as it is.
   */
  call<T>(what: string, run: (signal: AbortSignal) => Promise<T>, extraMs?: number): Promise<T>;
  /** Lets go of the connection (an SSH connection); a later call opens it again. */
  close(): void;
}

/** The engine did not answer: down, slow, or not reachable over the network. */
export class EngineUnreachable extends Error {
  constructor(
    readonly engine: string,
    readonly what: string,
    readonly reason: string,
  ) {
    super(`engine ${engine} did not answer (${what}): ${reason}`);
    this.name = 'EngineUnreachable';
  }
}

export function connectEngine(host: ResolvedHost, timeoutMs: number): Engine {
  const connection = host.connection;
  // Like the Docker CLI: keys come from the SSH agent (or a key file the config names), and the host's key must be in known_hosts.
  const sshAgent =
    connection.kind === 'ssh'
      ? new SshDialAgent({
          engine: host.name,
          url: host.docker,
          host: connection.host,
          port: connection.port,
          username: connection.username,
          agent: connection.agent,
          ...(connection.privateKey === undefined ? {} : { privateKey: connection.privateKey }),
          knownHosts: connection.knownHosts,
          readyTimeoutMs: timeoutMs,
        })
      : undefined;
  // docker-modem starts from DOCKER_HOST, DOCKER_CERT_PATH and friends: every field they could set is
  // given here, so the configured host is the one reached whatever the orchestrator's environment says.
  const unset = { host: undefined, port: undefined, socketPath: undefined, ca: undefined, cert: undefined, key: undefined, pathPrefix: undefined };
  // No connection timeout of docker-modem's: it also cuts a slow answer (a container start), which `call` bounds per call instead.
  const docker =
    connection.kind === 'unix'
      ? new Docker({ ...unset, socketPath: connection.socketPath, protocol: 'http' } as Docker.DockerOptions)
      : connection.kind === 'tcp'
        ? new Docker({
            ...unset,
            host: connection.host,
            port: connection.port,
            protocol: connection.tls === undefined ? 'http' : 'https',
            ...(connection.tls === undefined ? {} : { ca: connection.tls.ca, cert: connection.tls.cert, key: connection.tls.key }),
          } as Docker.DockerOptions)
        : // Plain HTTP over `docker system dial-stdio` sessions of one SSH connection.
          new Docker({ ...unset, host: connection.host, port: connection.port, protocol: 'http', agent: sshAgent } as Docker.DockerOptions);

  return {
    name: host.name,
    host,
    docker,
    close: () => sshAgent?.close(),
    async call<T>(what: string, run: (signal: AbortSignal) => Promise<T>, extraMs = 0): Promise<T> {
      const controller = new AbortController();
      const limit = timeoutMs + extraMs;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new EngineUnreachable(host.name, what, `no answer within ${limit} ms`));
        }, limit);
        timer.unref();
      });
      try {
        return await Promise.race([run(controller.signal), timedOut]);
      } catch (error) {
        if (error instanceof EngineUnreachable) throw error;
        if (isConnectionError(error)) throw new EngineUnreachable(host.name, what, describeError(error));
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** An error that says nothing came back from the engine (as opposed to an HTTP error it answered with). */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof EngineUnreachable) return true;
  if (error === null || typeof error !== 'object') return false;
  const { statusCode, code, name } = error as { statusCode?: unknown; code?: unknown; name?: unknown };
  if (typeof statusCode === 'number') return false;
  if (name === 'AbortError') return true;
  if (typeof code === 'string') return true;
  // ssh2 and TLS failures come as plain errors without a status.
  return true;
}

/** The HTTP status the engine answered with, if it answered. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The engine's own words for an error (dockerode wraps them as `(HTTP code 404) no such container - …`). */
export function describeError(error: unknown): string {
  if (error === null || typeof error !== 'object') return String(error);
  const json = (error as { json?: unknown }).json;
  if (json !== null && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') return (json as { message: string }).message;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * A start failed because of its engine, not its service: the engine did not
 * answer, refused to create or start the container, could not publish its
 * port, or went away while the container started. Another engine may well
 * start the same instance, so the platform tries the next one.
 */
export class EngineFault extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineFault';
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
// ssh2 is CommonJS: Node's ESM loader finds no named `utils` export in it.
import ssh2 from 'ssh2';

/**
 * One Docker engine of the fleet, as the user writes it under
 * `platform: { kind: 'docker', hosts: [...] }`.
 */
export interface DockerHostConfig {
  /** How Baton names the engine in records and messages; default `local` for the default socket, else the URL's host (or the socket path). Unique. */
  name?: string;
  /** `unix:///var/run/docker.sock`, `tcp://host:2376` (with `tls`) or `ssh://user@host[:port]` (through the SSH agent in `SSH_AUTH_SOCK`, as the Docker CLI). */
  docker: string;
  /** The client certificate and the CA for `tcp://` engines: paths of PEM files (as `docker --tlsverify` takes them). */
  tls?: { ca: string; cert: string; key: string };
  /**
   * For `ssh://` engines. `knownHosts`: the known_hosts file the host's key
   * must be in (default `~/.ssh/known_hosts` of the user running Baton; an
   * unknown or changed key is refused). `identityFile`: a private key file
   * (not encrypted) to log in with instead of the SSH agent.
   */
  ssh?: { knownHosts?: string; identityFile?: string };
  /**
   * Where routers reach this host's published ports. Default `127.0.0.1` for
   * a unix socket, the URL's host otherwise. Ports are published on this
   * address when it is a loopback address, else on every interface (0.0.0.0).
   */
  address?: string;
}

/** The `platform` section of a deploy config for `kind: 'docker'`, past the common keys. */
export interface DockerPlatformConfig {
  /** The engines; default one, from `DOCKER_HOST` or `unix:///var/run/docker.sock`. */
  hosts?: DockerHostConfig[];
  /** The port the service listens on inside its container (it gets it as `PORT`, with `HOST=0.0.0.0`); default 8080. */
  containerPort?: number;
  /** A user-defined network the containers join: then an instance is reached at its container's IP on that network, and no port is published. */
  network?: string;
  /** Limits for each container: `memory` as `'256m'`, `'1g'` or bytes, `cpus` as a fraction of CPUs, `pidsLimit` as a count. */
  resources?: { memory?: string | number; cpus?: number; pidsLimit?: number };
  /** Labels added to each container (Baton's own `baton.*` labels cannot be overridden). */
  labels?: Record<string, string>;
  /** An engine that does not answer a call within this is unreachable for that call; default 10 000. */
  engineTimeoutMs?: number;
  /** Bind mounts: a host directory (absolute path) at `target` in each container. */
  mounts?: { source: string; target: string; readOnly?: boolean }[];
  /** Run a tiny init (`docker-init`) as PID 1, so a service without a SIGTERM handler still stops and zombies are reaped; default true. */
  init?: boolean;
}

/** An engine with everything resolved: how to connect, its name and addresses. */
export interface ResolvedHost {
  name: string;
  /** The URL as written (for messages). */
  docker: string;
  connection:
    | { kind: 'unix'; socketPath: string }
    | { kind: 'tcp'; host: string; port: number; tls?: { ca: string; cert: string; key: string } }
    | {
        kind: 'ssh';
        host: string;
        port: number;
        username: string;
        /** The known_hosts file the host's key is checked against. */
        knownHosts: string;
        /** The SSH agent's socket, from the env the config was checked with. */
        agent: string | undefined;
        /** The text of `ssh.identityFile`, used instead of the agent. */
        privateKey?: string;
      };
  /** Where routers reach published ports. */
  address: string;
  /** Where ports are published on the engine's host: `address` when loopback, else 0.0.0.0. */
  bindAddress: string;
}

export interface ResolvedDockerConfig {
  hosts: ResolvedHost[];
  containerPort: number;
  network: string | undefined;
  resources: { memoryBytes?: number; nanoCpus?: number; pidsLimit?: number };
  labels: Record<string, string>;
  engineTimeoutMs: number;
  mounts: { source: string; target: string; readOnly: boolean }[];
  init: boolean;
}

const KNOWN_KEYS = ['hosts', 'containerPort', 'network', 'resources', 'labels', 'engineTimeoutMs', 'mounts', 'init'];
const DEFAULT_SOCKET = '/var/run/docker.sock';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MEMORY = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i;
const MEMORY_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * Checks the user's `platform` options and resolves their defaults. Every
 * problem is collected, so one `BATON_ERR_DEPLOY_CONFIG` names each bad
 * field and what it accepts.
 */
export function resolveDockerConfig(options: Readonly<Record<string, unknown>>, env: Readonly<Record<string, string | undefined>> = process.env): ResolvedDockerConfig {
  const problems: string[] = [];
  const o = (options ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_KEYS.includes(key)) problems.push(`platform.${key} is not a setting of the docker platform (it takes ${KNOWN_KEYS.join(', ')})`);
  }

  const hosts = resolveHosts(o.hosts, env, problems);

  let containerPort = 8080;
  if (o.containerPort !== undefined) {
    if (!isPort(o.containerPort)) problems.push(`platform.containerPort must be a port number 1–65535; got ${show(o.containerPort)}`);
    else containerPort = o.containerPort;
  }

  let network: string | undefined;
  if (o.network !== undefined) {
    if (typeof o.network !== 'string' || !NAME.test(o.network)) problems.push(`platform.network must be the name of a user-defined Docker network; got ${show(o.network)}`);
    else if (['bridge', 'host', 'none', 'default'].includes(o.network)) problems.push(`platform.network must be a user-defined network (docker network create …), not Docker's own ${show(o.network)}: only those give containers reachable addresses of their own`);
    else network = o.network;
  }

  const resources = resolveResources(o.resources, problems);

  const labels: Record<string, string> = {};
  if (o.labels !== undefined) {
    if (!isPlainObject(o.labels)) problems.push(`platform.labels must be an object of strings; got ${show(o.labels)}`);
    else {
      for (const [key, value] of Object.entries(o.labels)) {
        if (typeof value !== 'string') problems.push(`platform.labels.${key} must be a string; got ${show(value)}`);
        else if (key.startsWith('baton.')) problems.push(`platform.labels.${key}: labels starting with baton. are Baton's own`);
        else labels[key] = value;
      }
    }
  }

  let engineTimeoutMs = 10_000;
  if (o.engineTimeoutMs !== undefined) {
    if (typeof o.engineTimeoutMs !== 'number' || !Number.isFinite(o.engineTimeoutMs) || o.engineTimeoutMs < 100) problems.push(`platform.engineTimeoutMs must be a number of milliseconds ≥ 100; got ${show(o.engineTimeoutMs)}`);
    else engineTimeoutMs = o.engineTimeoutMs;
  }

  const mounts: ResolvedDockerConfig['mounts'] = [];
  if (o.mounts !== undefined) {
    if (!Array.isArray(o.mounts)) problems.push(`platform.mounts must be a list of { source, target, readOnly? }; got ${show(o.mounts)}`);
    else {
      o.mounts.forEach((mount: unknown, index) => {
        const at = `platform.mounts[${index}]`;
        if (!isPlainObject(mount)) return problems.push(`${at} must be { source, target, readOnly? }; got ${show(mount)}`);
        const { source, target, readOnly } = mount as Record<string, unknown>;
        let good = true;
        if (typeof source !== 'string' || !isAbsolute(source)) (good = false), problems.push(`${at}.source must be an absolute path on the engine's host; got ${show(source)}`);
        if (typeof target !== 'string' || !target.startsWith('/')) (good = false), problems.push(`${at}.target must be an absolute path in the container; got ${show(target)}`);
        if (readOnly !== undefined && typeof readOnly !== 'boolean') (good = false), problems.push(`${at}.readOnly must be true or false; got ${show(readOnly)}`);
        if (good) mounts.push({ source: source as string, target: target as string, readOnly: readOnly === true });
        return undefined;
      });
    }
  }

  let init = true;
  if (o.init !== undefined) {
    if (typeof o.init !== 'boolean') problems.push(`platform.init must be true or false; got ${show(o.init)}`);
    else init = o.init;
  }

  if (problems.length > 0) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `the docker platform's settings are invalid:\n- ${problems.join('\n- ')}`);
  }
  return { hosts, containerPort, network, resources, labels, engineTimeoutMs, mounts, init };
}

function resolveHosts(value: unknown, env: Readonly<Record<string, string | undefined>>, problems: string[]): ResolvedHost[] {
  if (value === undefined) {
    const fromEnv = env.DOCKER_HOST?.trim();
    const host = resolveHost({ docker: fromEnv !== undefined && fromEnv !== '' ? fromEnv : `unix://${DEFAULT_SOCKET}` }, fromEnv ? 'DOCKER_HOST' : 'the default engine', problems, env);
    return host === undefined ? [] : [host];
  }
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`platform.hosts must be a non-empty list of { name?, docker, tls?, address? }; got ${show(value)}`);
    return [];
  }
  const hosts: ResolvedHost[] = [];
  value.forEach((host: unknown, index) => {
    const resolved = resolveHost(host, `platform.hosts[${index}]`, problems, env);
    if (resolved === undefined) return;
    const twin = hosts.find((other) => other.name === resolved.name);
    if (twin !== undefined) problems.push(`platform.hosts[${index}].name: two engines are called ${show(resolved.name)}; give each a name of its own`);
    else hosts.push(resolved);
  });
  return hosts;
}

function resolveHost(value: unknown, at: string, problems: string[], env: Readonly<Record<string, string | undefined>>): ResolvedHost | undefined {
  if (!isPlainObject(value)) {
    problems.push(`${at} must be { name?, docker, tls?, address? }; got ${show(value)}`);
    return undefined;
  }
  const { name, docker, tls, address, ssh, ...rest } = value as Record<string, unknown>;
  const before = problems.length;
  for (const key of Object.keys(rest)) problems.push(`${at}.${key} is not a host setting (a host takes name, docker, tls, address, ssh)`);
  if (name !== undefined && (typeof name !== 'string' || !NAME.test(name))) problems.push(`${at}.name must be 1–63 letters, digits, '.', '_' or '-'; got ${show(name)}`);
  if (address !== undefined && (typeof address !== 'string' || address.trim() === '' || /[\s/]/.test(address))) problems.push(`${at}.address must be a host name or IP address; got ${show(address)}`);

  let connection: ResolvedHost['connection'] | undefined;
  let defaultName = '';
  let urlHost = '127.0.0.1';
  if (typeof docker !== 'string') {
    problems.push(`${at}.docker must be unix:///path/to/docker.sock, tcp://host:2376 or ssh://user@host[:port]; got ${show(docker)}`);
  } else if (docker.startsWith('unix://')) {
    const socketPath = docker.slice('unix://'.length);
    if (!socketPath.startsWith('/')) problems.push(`${at}.docker must name an absolute socket path, as unix:///var/run/docker.sock; got ${show(docker)}`);
    else {
      connection = { kind: 'unix', socketPath };
      defaultName = socketPath === DEFAULT_SOCKET ? 'local' : socketPath.replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 63);
    }
  } else if (docker.startsWith('tcp://') || docker.startsWith('ssh://')) {
    let url: URL | undefined;
    try {
      url = new URL(docker);
    } catch {
      problems.push(`${at}.docker is not a valid URL; got ${show(docker)}`);
    }
    if (url !== undefined) {
      const hostname = url.hostname.replace(/^\[|\]$/g, '');
      urlHost = hostname;
      defaultName = hostname;
      if (hostname === '') problems.push(`${at}.docker names no host; got ${show(docker)}`);
      else if (url.pathname !== '' && url.pathname !== '/') problems.push(`${at}.docker must be a bare ${url.protocol}//host:port, without a path; got ${show(docker)}`);
      else if (url.protocol === 'ssh:') {
        if (url.password !== '') problems.push(`${at}.docker must not hold a password (ssh:// connects through the SSH agent, SSH_AUTH_SOCK, or ssh.identityFile)`);
        const settings = resolveSsh(ssh, `${at}.ssh`, problems);
        const agent = env.SSH_AUTH_SOCK === '' ? undefined : env.SSH_AUTH_SOCK;
        connection = {
          kind: 'ssh',
          host: hostname,
          port: url.port === '' ? 22 : Number(url.port),
          username: decodeURIComponent(url.username) || 'root',
          knownHosts: settings.knownHosts,
          agent,
          ...(settings.privateKey === undefined ? {} : { privateKey: settings.privateKey }),
        };
        if (agent === undefined && settings.privateKey === undefined && settings.identityFileGiven !== true) {
          problems.push(`${at}.docker is an ssh:// engine, but no SSH agent runs (SSH_AUTH_SOCK is not set): start one and add the key (ssh-add), as for the Docker CLI, or set ${at}.ssh.identityFile`);
        }
      } else {
        if (url.port === '') problems.push(`${at}.docker must name the port, as tcp://${hostname}:2376; got ${show(docker)}`);
        const files = resolveTls(tls, `${at}.tls`, problems);
        if (files === undefined && tls === undefined && !isLoopback(hostname)) {
          problems.push(`${at}.tls is required for a tcp:// engine that is not on this machine ({ ca, cert, key }: PEM files, as docker --tlsverify): an engine's API without TLS gives root on its host to anyone who reaches the port`);
        }
        connection = { kind: 'tcp', host: hostname, port: Number(url.port || 2376), ...(files === undefined ? {} : { tls: files }) };
      }
    }
  } else {
    problems.push(`${at}.docker must be unix:///path/to/docker.sock, tcp://host:2376 or ssh://user@host[:port]; got ${show(docker)}`);
  }
  if (tls !== undefined && connection !== undefined && connection.kind !== 'tcp') problems.push(`${at}.tls is for tcp:// engines only (${connection.kind === 'unix' ? 'a unix socket' : 'ssh://'} needs none)`);
  if (ssh !== undefined && connection !== undefined && connection.kind !== 'ssh') problems.push(`${at}.ssh is for ssh:// engines only`);
  if (problems.length > before || connection === undefined) return undefined;
  const finalAddress = (address as string | undefined) ?? (connection.kind === 'unix' ? '127.0.0.1' : urlHost);
  return {
    name: (name as string | undefined) ?? defaultName,
    docker: docker as string,
    connection,
    address: finalAddress,
    bindAddress: isLoopback(finalAddress) ? finalAddress : '0.0.0.0',
  };
}

/**
 * `hosts[].ssh`: the known_hosts path (a named file must exist; the default
 * one may be missing, and then every host is unknown, said at connect time)
 * and the identity file, read and parsed now so a bad key is a config error.
 */
function resolveSsh(value: unknown, at: string, problems: string[]): { knownHosts: string; privateKey?: string; identityFileGiven?: boolean } {
  const fallback = { knownHosts: join(homedir(), '.ssh', 'known_hosts') };
  if (value === undefined) return fallback;
  if (!isPlainObject(value)) {
    problems.push(`${at} must be { knownHosts?, identityFile? } (paths of files); got ${show(value)}`);
    return fallback;
  }
  const { knownHosts, identityFile, ...rest } = value as Record<string, unknown>;
  for (const key of Object.keys(rest)) problems.push(`${at}.${key} is not an ssh setting (it takes knownHosts, identityFile)`);
  const resolved: { knownHosts: string; privateKey?: string; identityFileGiven?: boolean } = { ...fallback };
  if (knownHosts !== undefined) {
    if (typeof knownHosts !== 'string' || knownHosts === '') problems.push(`${at}.knownHosts must be the path of a known_hosts file; got ${show(knownHosts)}`);
    else if (!existsSync(knownHosts)) problems.push(`${at}.knownHosts: ${knownHosts} does not exist (make it with ssh-keyscan -p PORT HOST > ${knownHosts}, after checking the fingerprint)`);
    else resolved.knownHosts = knownHosts;
  }
  if (identityFile !== undefined) {
    resolved.identityFileGiven = true;
    if (typeof identityFile !== 'string' || identityFile === '') problems.push(`${at}.identityFile must be the path of a private key file; got ${show(identityFile)}`);
    else {
      let text: string | undefined;
      try {
        text = readFileSync(identityFile, 'utf8');
      } catch (error) {
        problems.push(`${at}.identityFile: cannot read ${identityFile} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      }
      if (text !== undefined) {
        const parsed = ssh2.utils.parseKey(text);
        if (parsed instanceof Error || (Array.isArray(parsed) ? parsed[0] : parsed)?.isPrivateKey() !== true) {
          const why = parsed instanceof Error ? parsed.message : 'it holds no private key';
          problems.push(`${at}.identityFile: ${identityFile} is not a private key Baton can use (${why}); an encrypted key goes in the SSH agent instead (ssh-add)`);
        } else resolved.privateKey = text;
      }
    }
  }
  return resolved;
}

/** Reads the PEM files at once: a missing file is a config error now, not a failed deploy later. */
function resolveTls(value: unknown, at: string, problems: string[]): { ca: string; cert: string; key: string } | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) {
    problems.push(`${at} must be { ca, cert, key } (paths of PEM files); got ${show(value)}`);
    return undefined;
  }
  const files: Record<string, string> = {};
  for (const key of ['ca', 'cert', 'key'] as const) {
    const path = (value as Record<string, unknown>)[key];
    if (typeof path !== 'string' || path === '') {
      problems.push(`${at}.${key} must be the path of a PEM file; got ${show(path)}`);
      continue;
    }
    try {
      files[key] = readFileSync(path, 'utf8');
    } catch (error) {
      problems.push(`${at}.${key}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  return files.ca !== undefined && files.cert !== undefined && files.key !== undefined ? { ca: files.ca, cert: files.cert, key: files.key } : undefined;
}

function resolveResources(value: unknown, problems: string[]): ResolvedDockerConfig['resources'] {
  const resources: ResolvedDockerConfig['resources'] = {};
  if (value === undefined) return resources;
  if (!isPlainObject(value)) {
    problems.push(`platform.resources must be { memory?, cpus?, pidsLimit? }; got ${show(value)}`);
    return resources;
  }
  const { memory, cpus, pidsLimit, ...rest } = value as Record<string, unknown>;
  for (const key of Object.keys(rest)) problems.push(`platform.resources.${key} is not a resource limit (memory, cpus, pidsLimit)`);
  if (memory !== undefined) {
    const bytes = memoryBytes(memory);
    // Docker refuses less than 6 MiB.
    if (bytes === undefined || bytes < 6 * 1024 ** 2) problems.push(`platform.resources.memory must be at least 6m, as '256m', '1g' or a number of bytes; got ${show(memory)}`);
    else resources.memoryBytes = bytes;
  }
  if (cpus !== undefined) {
    if (typeof cpus !== 'number' || !Number.isFinite(cpus) || cpus < 0.01) problems.push(`platform.resources.cpus must be a number of CPUs ≥ 0.01, as 0.5 or 2; got ${show(cpus)}`);
    else resources.nanoCpus = Math.round(cpus * 1e9);
  }
  if (pidsLimit !== undefined) {
    if (!Number.isSafeInteger(pidsLimit) || (pidsLimit as number) < 1) problems.push(`platform.resources.pidsLimit must be an integer ≥ 1; got ${show(pidsLimit)}`);
    else resources.pidsLimit = pidsLimit as number;
  }
  return resources;
}

function memoryBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = MEMORY.exec(value.trim());
  if (match === null) return undefined;
  return Math.floor(Number(match[1]) * (MEMORY_UNITS[(match[2] ?? '').toLowerCase()] ?? 1));
}

/** 127.0.0.0/8, ::1 and localhost: ports published there stay on the machine. */
export function isLoopback(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === '::1' || address === 'localhost';
}

function isPort(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

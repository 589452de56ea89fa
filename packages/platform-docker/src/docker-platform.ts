import type Docker from 'dockerode';
import type { Artifact, InstanceExit, InstanceRecord, Platform, ReleaseSpec } from '@baton/deploy';
import { createRedactor, lastListeningPort, LISTENING_LINE_EXAMPLE, secretValuesOf, type Redactor } from '@baton/deploy/kit';
import { resolveDockerConfig, type DockerPlatformConfig, type ResolvedDockerConfig } from './docker-config.js';
import { followLogs, logTail, type LogFollower } from './internal/container-logs.js';
import { containerName, containerSpec, instanceEnvironment, LABELS } from './internal/container-spec.js';
import { connectEngine, describeError, type Engine, EngineFault, EngineUnreachable, isConnectionError, statusOf } from './internal/engine.js';
import { EngineEvents } from './internal/engine-events.js';
import { exitOf } from './internal/exit-status.js';
import { copyImage, inspectImage, noImageError, pinImage } from './internal/image-artifact.js';
import { createSharedCalls } from './internal/shared-call.js';
import { checkRecord, checkRelease, type ContainerRecord, INSTANCE_ID, invalid, platformError, SERVICE_NAME } from './internal/input-checks.js';
import { answersHttp, sleep } from './internal/probes.js';

/** Options of {@link createDockerPlatform}. */
export interface DockerPlatformOptions {
  /** The service's name: containers are named `baton-<service>-<instance id>` and labelled `baton.service=<service>`. */
  service: string;
  /** The user's settings (`platform: { kind: 'docker', ... }` past the common keys); checked here. */
  config?: DockerPlatformConfig | Readonly<Record<string, unknown>>;
  /**
   * How an instance is known to listen. `'announce'` (default): its log shows
   * `{"event":"listening","port":N}` (services served through Baton print it).
   * `'assign'`: its published port answers an HTTP request (any status).
   * Either way the container gets `PORT=<containerPort>`.
   */
  port?: 'announce' | 'assign';
  /** From the container's start to a known listener; past it the container is removed and `start` rejects. Default 30 000. */
  listenTimeoutMs?: number;
  /** Set `BATON_ROUTER_DRAINS_FIRST=1` in every instance (see `@baton/platform-local`'s README for the promise). Default false. */
  routerDrainsFirst?: boolean;
  /** Lines of a container's log quoted in a start error. Default 20. */
  logTailLines?: number;
  /** Where `release.secretEnv` names missing from `release.env` are read from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The {@link InstanceRecord} this platform returns: always with its container and the engine it runs on. */
export interface DockerInstanceRecord extends InstanceRecord {
  container: { id: string; engine: string };
}

/** A {@link Platform} of Docker containers on one or several engines. */
export interface DockerPlatform extends Platform {
  /** The engines' names, in the order of `hosts`. */
  readonly engines: readonly string[];
  start(release: ReleaseSpec, options: { id: string; signal?: AbortSignal }): Promise<DockerInstanceRecord>;
  isRunning(instance: InstanceRecord): Promise<boolean>;
  instances(): Promise<DockerInstanceRecord[]>;
  artifact(release: ReleaseSpec): Promise<Artifact>;
  close(): Promise<void>;
}

/** One engine's count of this service's containers, or why it did not answer. */
interface EngineListing {
  engine: Engine;
  count?: number;
  problem?: string;
}

/** After its stop timeout the engine kills; this is how long the kill itself may take to be seen. */
const KILL_WAIT_MS = 15_000;
/** A published port another process took between the engine's pick and its bind: tried again with another. */
const PUBLISH_ATTEMPTS = 3;

/**
 * A {@link Platform} that runs each instance as a container on one of
 * several Docker engines, through the Engine API (dockerode). Instances are
 * spread over the engines (the one with the fewest of this service's
 * containers gets the next), publish their `containerPort` on an ephemeral
 * port of their host's address (or join a user-defined network), and are
 * labelled so that any later orchestrator finds them: everything a record
 * needs is on the engine.
 *
 * @example
 * const platform = createDockerPlatform({ service: 'orders', config: { hosts: [{ docker: 'unix:///var/run/docker.sock' }, { name: 'b', docker: 'ssh://deploy@10.0.0.2' }] } });
 * const release = { version: 'v2', image: 'orders:v2' };
 * const pinned = { ...release, artifact: await platform.artifact(release) }; // same image id on every engine
 * const instance = await platform.start(pinned, { id: 'v2-1' }); // resolves once it listens
 * await platform.stop(instance, { deadlineMs: 30_000 }); // SIGTERM, SIGKILL at the deadline, container removed
 */
export function createDockerPlatform(options: DockerPlatformOptions): DockerPlatform {
  const settings = resolveOptions(options);
  const { config, service } = settings;
  const engines = config.hosts.map((host) => connectEngine(host, config.engineTimeoutMs));
  const events = new Map<Engine, EngineEvents>();
  const sharedListing = createSharedCalls<EngineListing[]>();
  const sharedImage = createSharedCalls<string>();
  /** Starts under way per engine, so parallel starts spread too. */
  const pending = new Map<Engine, number>();
  /** Exits this platform saw (its stops), by container id: a later onExit or stop reports the same. */
  const exits = new Map<string, InstanceExit>();

  const engineNamed = (name: string): Engine | undefined => engines.find((engine) => engine.name === name);
  const eventsOf = (engine: Engine): EngineEvents => {
    let found = events.get(engine);
    if (found === undefined) events.set(engine, (found = new EngineEvents(engine, service, config.engineTimeoutMs)));
    return found;
  };

  async function start(release: ReleaseSpec, startOptions: { id: string; signal?: AbortSignal }): Promise<DockerInstanceRecord> {
    checkRelease(release);
    if (startOptions === null || typeof startOptions !== 'object' || typeof startOptions.id !== 'string' || !INSTANCE_ID.test(startOptions.id)) {
      throw invalid(`start: \`id\` must be 1–128 letters, digits, '.', '_' or '-' (it names the container); got ${JSON.stringify(startOptions?.id)}.`);
    }
    const { id, signal } = startOptions;
    signal?.throwIfAborted();
    const redactor = createRedactor(secretValuesOf(release, settings.env));
    try {
      const listed = await listEngines();
      const failures = listed.flatMap((entry) => (entry.problem === undefined ? [] : [`${entry.engine.name} (${entry.engine.host.docker}): ${entry.problem}`]));
      const answering = listed.flatMap((entry) => (entry.count === undefined ? [] : [{ engine: entry.engine, listed: entry.count }]));
      if (answering.length === 0) throw platformError(`no engine answered, so no instance can start: ${failures.join('; ')}`);
      // An engine that fails the start (not the service) is skipped for the next one, fewest instances first.
      for (;;) {
        const engine = fewest(answering);
        if (engine === undefined) throw platformError(redactor.text(`instance ${id} could not start on any engine: ${failures.join('; ')}`));
        answering.splice(answering.findIndex((entry) => entry.engine === engine), 1);
        pending.set(engine, (pending.get(engine) ?? 0) + 1);
        try {
          return await startOn(engine, release, id, redactor, signal);
        } catch (error) {
          if (!(error instanceof EngineFault) || signal?.aborted) throw error;
          failures.push(`${engine.name} (${engine.host.docker}): ${error.message}`);
        } finally {
          pending.set(engine, (pending.get(engine) ?? 1) - 1);
        }
      }
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      if (isBatonError(error)) throw error;
      throw platformError(redactor.text(`start of ${id}: ${describeError(error)}`), error);
    }
  }

  /** Each engine's count of this service's running containers, or why it did not answer (one listing shared by the starts that ask while it runs). */
  function listEngines(): Promise<EngineListing[]> {
    return sharedListing('listing', listEnginesNow);
  }

  function listEnginesNow(): Promise<EngineListing[]> {
    return Promise.all(
      engines.map(async (engine) => {
        try {
          const list = await engine.call('list containers', (signal) => engine.docker.listContainers({ filters: { label: [`${LABELS.service}=${service}`] }, abortSignal: signal }));
          return { engine, count: list.length };
        } catch (error) {
          return { engine, problem: error instanceof EngineUnreachable ? error.reason : describeError(error) };
        }
      }),
    );
  }

  /** Of `candidates`, the engine with the fewest containers of this service, starts under way (now) included; ties go to the first in `hosts`. */
  function fewest(candidates: readonly { engine: Engine; listed: number }[]): Engine | undefined {
    let best: { engine: Engine; count: number } | undefined;
    for (const { engine, listed } of candidates) {
      const count = listed + (pending.get(engine) ?? 0);
      if (best === undefined || count < best.count) best = { engine, count };
    }
    return best?.engine;
  }

  /** The image reference to run on `engine`, copied there first when another engine holds it and this one does not (once for the starts that ask together). */
  function imageOn(engine: Engine, release: ReleaseSpec): Promise<string> {
    const pinned = release.artifact?.kind === 'image' ? release.artifact.digest : undefined;
    const reference = pinned ?? (release.image as string);
    return sharedImage(`${engine.name}\0${reference}`, () => imageOnNow(engine, release, reference, pinned));
  }

  async function imageOnNow(engine: Engine, release: ReleaseSpec, reference: string, pinned: string | undefined): Promise<string> {
    const named = release.artifact?.source ?? release.image ?? reference;
    if ((await inspectImage(engine, reference)) !== undefined) return reference;
    for (const other of engines) {
      if (other === engine) continue;
      const held = await inspectImage(other, reference).catch(() => undefined);
      if (held !== undefined) {
        await copyImage(held, engine, named).catch((error: unknown) => {
          throw new EngineFault(error instanceof Error ? error.message.replace(/^docker platform: /, '') : String(error), { cause: error });
        });
        return reference;
      }
    }
    throw noImageError(pinned === undefined ? reference : `${named} (${pinned})`, engines);
  }

  async function startOn(engine: Engine, release: ReleaseSpec, id: string, redactor: Redactor, signal: AbortSignal | undefined): Promise<DockerInstanceRecord> {
    // Creating and starting a container may take a loaded engine the instance's whole listen time, not only engineTimeoutMs; each engine tried gets its own.
    const startBy = Date.now() + settings.listenTimeoutMs;
    const image = await imageOn(engine, release).catch((error: unknown) => {
      // The image on none of the engines is the release's problem; this engine not answering is the engine's.
      if (isBatonError(error) || error instanceof EngineFault) throw error;
      throw new EngineFault(`looking for the image: ${describeError(error)}`, { cause: error });
    });
    signal?.throwIfAborted();
    const env = instanceEnvironment(
      release,
      { PORT: String(config.containerPort), HOST: '0.0.0.0', RELEASE: release.version, BATON_INSTANCE: id },
      settings.routerDrainsFirst,
      settings.env,
    );
    const spec = containerSpec({ service, id, release, image, env, config, host: engine.host });
    const what = `instance ${id} (image ${release.artifact?.source ?? release.image ?? image}, engine ${engine.name})`;

    // The instance's start, as `docker run` would time it: from asking the engine for its container.
    const startedAtMs = Date.now();
    let containerId: string | undefined;
    for (let attempt = 1; containerId === undefined; attempt += 1) {
      const created = await createContainer(engine, spec, id, startBy).catch((error: unknown) => {
        if (isBatonError(error)) throw error;
        throw new EngineFault(redactor.text(`creating the container of ${what} failed: ${describeError(error)}`), { cause: error });
      });
      try {
        // Starting a container (its filesystem, network, process) takes a loaded engine seconds: it may take the listen timeout too.
        await engine.call('start a container', (abort) => engine.docker.getContainer(created).start({ abortSignal: abort }), listenTimeLeft(startBy));
        containerId = created;
      } catch (error) {
        await removeQuietly(engine, created);
        if (attempt < PUBLISH_ATTEMPTS && /address already in use|port is already allocated/i.test(describeError(error))) continue;
        throw new EngineFault(redactor.text(`${what} did not start: ${describeError(error)}`), { cause: error });
      }
    }
    const started = containerId;
    const runningAtMs = Date.now();

    let follower: LogFollower | undefined;
    const fail = async (why: string, cause?: unknown, engineFault = false): Promise<never> => {
      // The lines already followed, else the engine's tail (a container that died before the follow began).
      const followed = follower?.lines.filter((line) => line !== '').slice(-settings.logTailLines).join('\n') ?? '';
      const tail = redactor.text(followed !== '' ? followed : await logTail(engine, started, settings.logTailLines).catch(() => ''));
      await removeQuietly(engine, started);
      const message = redactor.text(`${what} ${why}`) + (tail === '' ? '; its log is empty' : `; the last lines of its log:\n${tail}`);
      throw engineFault ? new EngineFault(message, { cause }) : platformError(message, cause);
    };

    try {
      const record = await recordOf(engine, started, id, release.version, startedAtMs);
      if (record === undefined) return await fail('exited before its address was known');
      follower = await followLogs(engine, started);
      const deadline = runningAtMs + settings.listenTimeoutMs;
      for (;;) {
        if (signal?.aborted) {
          await removeQuietly(engine, started);
          throw signal.reason;
        }
        if (settings.port === 'announce') {
          const announced = lastListeningPort(follower.lines);
          if (announced !== undefined) {
            if (config.network !== undefined) return { ...record, port: announced, url: urlOf(record.host, announced) };
            if (announced === config.containerPort) return record;
            return await fail(`listens on port ${announced}, but it was given PORT=${config.containerPort} and only that port is published: listen on process.env.PORT (or set platform.containerPort)`);
          }
        } else if (!follower.ended && (await answersHttp(record.url, 1000))) {
          return record;
        }
        if (follower.ended) {
          const state = await inspectState(engine, started);
          if (state === undefined || !state.Running) {
            const exit = state === undefined ? undefined : exitOf(state.ExitCode, state.OOMKilled);
            const exited = `exited with ${exit === undefined ? 'an unknown status (its container is gone)' : describeExit(exit)} before it listened`;
            // A host going away kills its containers: that exit is the engine's doing, not the service's.
            if (!(await engineAnswers(engine))) return await fail(`${exited}, and engine ${engine.name} stopped answering`, undefined, true);
            return await fail(exited);
          }
          // The stream broke while the container runs on (an engine hiccup): follow again.
          follower = await followLogs(engine, started);
        }
        if (Date.now() > deadline) {
          return await fail(
            `did not listen within ${settings.listenTimeoutMs} ms (${settings.port === 'announce' ? NOT_ANNOUNCED : `port ${config.containerPort} in the container, published at ${record.url}, answered no HTTP request: does it listen on process.env.PORT at 0.0.0.0?`}); its container was removed`,
          );
        }
        await Promise.race([follower.changed(), sleep(settings.port === 'assign' ? 100 : 250, signal)]);
      }
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      if (isBatonError(error) || error instanceof EngineFault) throw error;
      return await fail(`failed while starting: ${describeError(error)}`, error, isConnectionError(error));
    } finally {
      follower?.close();
    }
  }

  /** Creates the container; a stale one of the same name (exited, or created by an orchestrator that died) is removed first. */
  async function createContainer(engine: Engine, spec: Docker.ContainerCreateOptions, id: string, startBy: number): Promise<string> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const container = await engine.call('create a container', (abort) => engine.docker.createContainer({ ...spec, abortSignal: abort }), listenTimeLeft(startBy));
        return container.id;
      } catch (error) {
        if (statusOf(error) !== 409 || attempt > 2) throw error;
        const state = await inspectState(engine, spec.name as string);
        if (state?.Running === true) throw platformError(`start: instance ${id} already runs (container ${spec.name} on engine ${engine.name}).`);
        await removeQuietly(engine, spec.name as string);
      }
    }
  }

  /** The record of a started container: its published port (or its address on the network), or undefined when it is gone already. */
  async function recordOf(engine: Engine, containerId: string, id: string, release: string, startedAtMs: number): Promise<DockerInstanceRecord | undefined> {
    const info = await engine.call('inspect a container', (abort) => engine.docker.getContainer(containerId).inspect({ abortSignal: abort })).catch((error: unknown) => {
      if (statusOf(error) === 404) return undefined;
      throw error;
    });
    if (info === undefined) return undefined;
    const address = addressOf(engine, info.NetworkSettings as unknown as ContainerNetworkSettings, config);
    if (address === undefined) return undefined;
    return { id, release, host: address.host, port: address.port, url: urlOf(address.host, address.port), container: { id: info.Id, engine: engine.name }, startedAtMs };
  }

  /** What a create or start call may take past engineTimeoutMs: the rest of the start's listen time. */
  function listenTimeLeft(startBy: number): number {
    return Math.max(0, startBy - Date.now() - config.engineTimeoutMs);
  }

  /** True when the engine answers a ping now (a container that died may have died with its host). */
  async function engineAnswers(engine: Engine): Promise<boolean> {
    return engine.call('ping', () => engine.docker.ping()).then(
      () => true,
      () => false,
    );
  }

  async function stop(instance: InstanceRecord, stopOptions: { deadlineMs: number }): Promise<InstanceExit> {
    checkRecord(instance, 'stop');
    const deadlineMs = stopOptions?.deadlineMs;
    if (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs) || deadlineMs < 0) {
      throw invalid(`stop: \`deadlineMs\` must be a number of milliseconds ≥ 0; got ${JSON.stringify(deadlineMs)}.`);
    }
    const cid = instance.container.id;
    const engine = engineNamed(instance.container.engine);
    if (engine === undefined) throw platformError(`stop: instance ${instance.id} runs on engine ${instance.container.engine}, which is not in platform.hosts (${engines.map((e) => e.name).join(', ')}): add it back to stop the instance, or stop its container by hand.`);
    const unreachable = (error: unknown): never => {
      throw platformError(`stop: cannot stop instance ${instance.id} (container ${cid.slice(0, 12)}): ${describeError(error)}; it is kept and the stop can be tried again`, error);
    };
    try {
      const state = await inspectState(engine, cid);
      if (state === undefined) return exits.get(cid) ?? { code: null, signal: null, atMs: Date.now() };
      if (state.Running) {
        // The engine sends the container's stop signal (SIGTERM), waits `t` seconds, then SIGKILL.
        const t = Math.ceil(deadlineMs / 1000);
        await engine.call('stop a container', (abort) => engine.docker.getContainer(cid).stop({ t, abortSignal: abort }), t * 1000 + KILL_WAIT_MS).catch((error: unknown) => {
          // 304: stopped meanwhile; 404: removed meanwhile.
          if (statusOf(error) !== 304 && statusOf(error) !== 404) throw error;
        });
      }
      const after = await inspectState(engine, cid);
      const exit = exits.get(cid) ?? (after === undefined ? { code: null, signal: null, atMs: Date.now() } : exitOf(after.ExitCode, after.OOMKilled));
      if (after?.Running === true) throw platformError(`stop: instance ${instance.id} (container ${cid.slice(0, 12)} on engine ${engine.name}) still runs after SIGKILL.`);
      exits.set(cid, exit);
      await engine.call('remove a container', (abort) => engine.docker.getContainer(cid).remove({ force: true, abortSignal: abort })).catch((error: unknown) => {
        // 404: gone; 409: its removal is under way already.
        if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
      });
      return exit;
    } catch (error) {
      if (isBatonError(error)) throw error;
      return unreachable(error);
    }
  }

  function onExit(instance: InstanceRecord, listener: (exit: InstanceExit) => void): () => void {
    checkRecord(instance, 'onExit');
    if (typeof listener !== 'function') throw invalid('onExit: `listener` must be a function.');
    const cid = instance.container.id;
    let active = true;
    const call = (exit: InstanceExit): void => {
      if (!active) return;
      active = false;
      try {
        listener(exits.get(cid) ?? exit);
      } catch {
        // One throwing listener must not break the engine's watch.
      }
    };
    const known = exits.get(cid);
    const engine = engineNamed(instance.container.engine);
    if (known !== undefined || engine === undefined) {
      // Stopped by this platform already, or on an engine no longer in the config (lost to it).
      setImmediate(() => call(known ?? { code: null, signal: null, atMs: Date.now() }));
      return () => {
        active = false;
      };
    }
    const watch = eventsOf(engine);
    watch.watch(cid, call).catch(() => {
      // The engine answered with an error to the check: the stream still reports the exit.
    });
    return () => {
      active = false;
      watch.unwatch(cid, call);
    };
  }

  async function isRunning(instance: InstanceRecord): Promise<boolean> {
    checkRecord(instance, 'isRunning');
    const engine = engineNamed(instance.container.engine);
    if (engine === undefined) return false;
    try {
      return (await inspectState(engine, instance.container.id))?.Running === true;
    } catch {
      // Unreachable: not known to run, and the orchestrator replaces what it cannot see (see README: lost engines).
      return false;
    }
  }

  async function instances(): Promise<DockerInstanceRecord[]> {
    const perEngine = await Promise.all(
      engines.map(async (engine) => {
        let list: Docker.ContainerInfo[];
        try {
          list = await engine.call('list containers', (abort) => engine.docker.listContainers({ filters: { label: [`${LABELS.service}=${service}`] }, abortSignal: abort }));
        } catch {
          // An engine that does not answer has nothing to adopt now; its instances are reported lost by onExit.
          return [];
        }
        const records: DockerInstanceRecord[] = [];
        for (const info of list) {
          const id = info.Labels[LABELS.instance];
          const release = info.Labels[LABELS.release];
          if (id === undefined || release === undefined) continue;
          const address = addressFromList(engine, info, config);
          if (address === undefined) continue;
          records.push({ id, release, host: address.host, port: address.port, url: urlOf(address.host, address.port), container: { id: info.Id, engine: engine.name }, startedAtMs: info.Created * 1000 });
        }
        return records;
      }),
    );
    return perEngine.flat().sort((a, b) => a.id.localeCompare(b.id));
  }

  async function artifact(release: ReleaseSpec): Promise<Artifact> {
    if (release === null || typeof release !== 'object' || typeof release.image !== 'string' || release.image.trim() === '') {
      throw invalid(`artifact: release ${JSON.stringify(release?.version)} names no image: the docker platform runs container images (release.image, e.g. 'orders:v2').`);
    }
    return pinImage(engines, release.image);
  }

  async function close(): Promise<void> {
    for (const watch of events.values()) watch.close();
    events.clear();
    for (const engine of engines) engine.close();
  }

  return { engines: engines.map((engine) => engine.name), start, stop, onExit, isRunning, instances, artifact, close };
}

interface ResolvedOptions {
  service: string;
  config: ResolvedDockerConfig;
  port: 'announce' | 'assign';
  listenTimeoutMs: number;
  routerDrainsFirst: boolean;
  logTailLines: number;
  env: Readonly<Record<string, string | undefined>>;
}

function resolveOptions(options: DockerPlatformOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object with a `service`.');
  const { service, config = {}, port = 'announce', listenTimeoutMs = 30_000, routerDrainsFirst = false, logTailLines = 20, env = process.env } = options;
  if (typeof service !== 'string' || !SERVICE_NAME.test(service)) throw invalid(`\`service\` must be 1–63 letters, digits, '.', '_' or '-' (it names containers and labels them); got ${JSON.stringify(service)}.`);
  if (port !== 'announce' && port !== 'assign') throw invalid(`\`port\` must be 'announce' or 'assign'; got ${JSON.stringify(port)}.`);
  if (typeof listenTimeoutMs !== 'number' || !Number.isFinite(listenTimeoutMs) || listenTimeoutMs <= 0) throw invalid(`\`listenTimeoutMs\` must be a positive number of milliseconds; got ${JSON.stringify(listenTimeoutMs)}.`);
  if (typeof routerDrainsFirst !== 'boolean') throw invalid(`\`routerDrainsFirst\` must be true or false; got ${JSON.stringify(routerDrainsFirst)}.`);
  if (!Number.isSafeInteger(logTailLines) || logTailLines < 0) throw invalid(`\`logTailLines\` must be an integer ≥ 0; got ${JSON.stringify(logTailLines)}.`);
  return { service, config: resolveDockerConfig(config as Readonly<Record<string, unknown>>, env), port, listenTimeoutMs, routerDrainsFirst, logTailLines, env };
}

interface ContainerNetworkSettings {
  Ports?: Record<string, { HostIp: string; HostPort: string }[] | null>;
  Networks?: Record<string, { IPAddress?: string }>;
}

/** Where routers reach a container: its host's address and published port, or its IP on the user network. */
function addressOf(engine: Engine, network: ContainerNetworkSettings, config: ResolvedDockerConfig): { host: string; port: number } | undefined {
  if (config.network !== undefined) {
    const ip = network.Networks?.[config.network]?.IPAddress;
    return ip === undefined || ip === '' ? undefined : { host: ip, port: config.containerPort };
  }
  const binding = network.Ports?.[`${config.containerPort}/tcp`]?.[0];
  const port = Number(binding?.HostPort);
  return Number.isSafeInteger(port) && port > 0 ? { host: engine.host.address, port } : undefined;
}

/** The same from a container listing (an adopted container: its labels say how it was started). */
function addressFromList(engine: Engine, info: Docker.ContainerInfo, config: ResolvedDockerConfig): { host: string; port: number } | undefined {
  const containerPort = Number(info.Labels[LABELS.containerPort] ?? config.containerPort);
  const network = info.Labels[LABELS.network];
  if (network !== undefined) {
    const ip = (info.NetworkSettings?.Networks as Record<string, { IPAddress?: string }> | undefined)?.[network]?.IPAddress;
    return ip === undefined || ip === '' ? undefined : { host: ip, port: containerPort };
  }
  const published = info.Ports.find((port) => port.PrivatePort === containerPort && port.Type === 'tcp' && port.PublicPort !== undefined);
  return published === undefined ? undefined : { host: engine.host.address, port: published.PublicPort };
}

async function inspectState(engine: Engine, containerId: string): Promise<Docker.ContainerInspectInfo['State'] | undefined> {
  try {
    return (await engine.call('inspect a container', (abort) => engine.docker.getContainer(containerId).inspect({ abortSignal: abort }))).State;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

async function removeQuietly(engine: Engine, containerId: string): Promise<void> {
  try {
    await engine.call('remove a container', (abort) => engine.docker.getContainer(containerId).remove({ force: true, abortSignal: abort }));
  } catch (error) {
    if (isConnectionError(error)) return;
    // 404 (gone) or 409 (removal under way): nothing left to do.
  }
}

function isBatonError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('BATON_ERR_');
}

function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

function describeExit(exit: InstanceExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
}

const NOT_ANNOUNCED =
  `its log shows no ${LISTENING_LINE_EXAMPLE} line. A service served through Baton (serve() of @baton/lifecycle, baton(app).serve() of @baton/express, serveFastify() of @baton/fastify) prints it once it listens; ` +
  "any other service: set `platform: { port: 'assign' }` in baton.config (the platform then waits until its published port answers HTTP) and listen on process.env.PORT at 0.0.0.0";

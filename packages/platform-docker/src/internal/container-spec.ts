import type Docker from 'dockerode';
import { ROUTER_DRAINS_FIRST_ENV } from '@baton/lifecycle';
import type { ReleaseSpec } from '@baton/deploy';
import type { ResolvedDockerConfig, ResolvedHost } from '../docker-config.js';

/** Baton's labels on every container it starts; `instances()` finds them by the first. */
export const LABELS = {
  service: 'baton.service',
  release: 'baton.release',
  instance: 'baton.instance',
  artifact: 'baton.artifact',
  containerPort: 'baton.container-port',
  network: 'baton.network',
} as const;

export function containerName(service: string, id: string): string {
  return `baton-${service}-${id}`;
}

/**
 * The instance's environment: the release's `env`, the values of its
 * `secretEnv` names that `env` lacks (from the orchestrator's environment:
 * a container inherits nothing), then the platform's own variables. The
 * router-drain promise is the platform's alone: a release's own
 * `BATON_ROUTER_DRAINS_FIRST` is dropped unless the platform sets it.
 */
export function instanceEnvironment(
  release: ReleaseSpec,
  own: Record<string, string>,
  routerDrainsFirst: boolean,
  orchestratorEnv: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of release.secretEnv ?? []) {
    const value = orchestratorEnv[name];
    if (release.env?.[name] === undefined && value !== undefined) env[name] = value;
  }
  Object.assign(env, release.env, own);
  if (routerDrainsFirst) env[ROUTER_DRAINS_FIRST_ENV] = '1';
  else delete env[ROUTER_DRAINS_FIRST_ENV];
  return env;
}

/** What the engine's create call gets for one instance. */
export function containerSpec(input: {
  service: string;
  id: string;
  release: ReleaseSpec;
  image: string;
  env: Record<string, string>;
  config: ResolvedDockerConfig;
  host: ResolvedHost;
}): Docker.ContainerCreateOptions {
  const { service, id, release, image, env, config, host } = input;
  const port = `${config.containerPort}/tcp`;
  const labels: Record<string, string> = {
    ...config.labels,
    [LABELS.service]: service,
    [LABELS.release]: release.version,
    [LABELS.instance]: id,
    [LABELS.containerPort]: String(config.containerPort),
  };
  if (release.artifact !== undefined) labels[LABELS.artifact] = release.artifact.digest;
  if (config.network !== undefined) labels[LABELS.network] = config.network;
  const hostConfig: Docker.HostConfig = {
    // Baton decides what runs: an engine restarting an instance on its own would be an instance nobody routes to.
    RestartPolicy: { Name: 'no' },
    Init: config.init,
    Mounts: config.mounts.map((mount) => ({ Type: 'bind', Source: mount.source, Target: mount.target, ReadOnly: mount.readOnly })),
  };
  if (config.network === undefined) {
    // An ephemeral host port, on the host's address when it is a loopback one (nothing else reaches it).
    hostConfig.PortBindings = { [port]: [{ HostIp: host.bindAddress, HostPort: '' }] };
  } else {
    hostConfig.NetworkMode = config.network;
  }
  if (config.resources.memoryBytes !== undefined) {
    hostConfig.Memory = config.resources.memoryBytes;
    // No swap beyond the limit: a limit that swaps is no limit.
    hostConfig.MemorySwap = config.resources.memoryBytes;
  }
  if (config.resources.nanoCpus !== undefined) hostConfig.NanoCpus = config.resources.nanoCpus;
  if (config.resources.pidsLimit !== undefined) hostConfig.PidsLimit = config.resources.pidsLimit;

  const spec: Docker.ContainerCreateOptions = {
    name: containerName(service, id),
    Image: image,
    Env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
    Labels: labels,
    ExposedPorts: { [port]: {} },
    HostConfig: hostConfig,
  };
  if (release.command !== undefined) {
    spec.Entrypoint = [release.command];
    spec.Cmd = [...(release.args ?? [])];
  } else if (release.args !== undefined) {
    spec.Cmd = [...release.args];
  }
  if (release.cwd !== undefined) spec.WorkingDir = release.cwd;
  return spec;
}

// The fleet on Docker: `@baton/platform-docker` over two engines — the
// machine's and a private one started for the run (its own dockerd, socket,
// data root and bridge, publishing on its own loopback address) — so the
// fleet spans two "hosts" and the router sends traffic to both. The service
// is one image of the Baton-served orders service built with the test rig's
// buildNodeImage (no registry here); the platform copies it to the second
// engine itself, as it does for a user.
import type { FleetPlatform } from './fleet-platform.js';
import { ORDERS_MAIN, SERVICE_ENV } from './fleet-platform.js';

/** The port the service listens on in its container. */
const CONTAINER_PORT = 8080;

interface Engine {
  name: string;
  docker: string;
  address: string;
  socketPath: string;
}

/** What this file needs of `@baton/testing/docker`; loaded at run time so the local half builds and runs without it. */
interface DockerRig {
  dockerUnavailable(): string | undefined;
  ensureDockerEngine(): Promise<Engine>;
  startDockerEngine(options?: { name?: string }): Promise<Engine & { stop(): Promise<void> }>;
  buildNodeImage(engine: { socketPath: string }, options: { name: string; entry: string }): Promise<{ id: string; tag: string }>;
}

export async function dockerFleetPlatform(log: (line: string) => void): Promise<FleetPlatform> {
  const rigModule = '@baton/testing/docker';
  const rig = (await import(rigModule)) as DockerRig;
  const why = rig.dockerUnavailable();
  if (why !== undefined) throw new Error(`Docker is not available here: ${why}`);
  // The platform package must be there too (the deploy loads it by kind).
  const platformModule = '@baton/platform-docker';
  await import(platformModule);
  const machine = await rig.ensureDockerEngine();
  const second = await rig.startDockerEngine({ name: 'bench-b' });
  try {
    const image = await rig.buildNodeImage(machine, { name: 'baton-bench-orders', entry: ORDERS_MAIN });
    log(`fleet bench (docker): image ${image.tag} (${image.id.slice(0, 19)}…) on ${machine.docker}; second engine ${second.docker} publishing on ${second.address}`);
    const hosts = [
      { name: 'host-a', docker: machine.docker, address: machine.address },
      { name: 'host-b', docker: second.docker, address: second.address },
    ];
    return {
      kind: 'docker',
      platform: { kind: 'docker', hosts, containerPort: CONTAINER_PORT },
      release: (version) => ({ version, image: image.tag, env: { ...SERVICE_ENV } }),
      listeningAt: () => undefined,
      spans: 'two engines: the machine\'s and a private dockerd',
      close: () => second.stop(),
    };
  } catch (error) {
    await second.stop();
    throw error;
  }
}

import { writeFile } from 'node:fs/promises';
import type { DeployConfig } from '@baton/deploy';

/** One Docker engine of the demo's fleet, as the config names it. */
export interface DemoHost {
  name: string;
  /** `unix:///var/run/docker.sock`, `tcp://host:2376` (TLS), `ssh://user@host`. */
  docker: string;
  /** The address the router reaches the host's published ports on. */
  address: string;
}

/** What changes from one release of the demo to the next: what a user edits in `release`. */
export interface DemoRelease {
  version: string;
  /** The image as the user names it (a tag); `baton release create` pins it to its digest. */
  image: string;
  env?: Record<string, string>;
}

/**
 * The demo's service name. Not plain `orders`: the Docker platform names and
 * counts containers by service on each engine, and the machine's engine may
 * run another deploy of `orders` (a benchmark, a test) at the same time.
 */
export const DEMO_SERVICE = 'orders-demo';

/** The label (key) of the demo's containers; its value is the run's own. */
export const RUN_LABEL = 'baton-demo.run';

/** The port the orders service listens on inside its container; the engine publishes it on an ephemeral port of the host's address. */
export const CONTAINER_PORT = 8080;

/** `pnpm demo`'s canary: 20% and 50% of the traffic, each judged for 4 s on the canary's metrics against the stable release's. */
const CANARY: NonNullable<DeployConfig['strategy']> = { type: 'canary', steps: [{ setWeight: 20 }, { analysis: { durationMs: 4000 } }, { setWeight: 50 }, { analysis: { durationMs: 4000 } }] };

/**
 * The `baton.config.json` of the demo, as a user of the Docker platform
 * writes it: the fleet's engines under `platform.hosts`, the release as an
 * image. The canary and the error limits are those of `pnpm demo`, so both
 * demos tell the same story.
 */
export function dockerDemoConfig(options: {
  stateDir: string;
  hosts: readonly DemoHost[];
  release: DemoRelease;
  router: string;
  instances: number;
  strategy: 'rolling' | 'canary';
  /** Labels every container of this run, so the tear down finds them on each engine whatever happened. */
  runLabel: string;
}): DeployConfig {
  return {
    service: DEMO_SERVICE,
    instances: options.instances,
    stateDir: options.stateDir,
    release: {
      version: options.release.version,
      image: options.release.image,
      // The router drains an instance before it is stopped, so the instance's own propagation delay can be short.
      env: { BATON_PROPAGATION_DELAY_MS: '300', ...options.release.env },
    },
    platform: {
      kind: 'docker',
      hosts: options.hosts.map((host) => ({ ...host })),
      containerPort: CONTAINER_PORT,
      labels: { [RUN_LABEL]: options.runLabel },
      // Both engines share this machine's CPUs with the load, the router and the instances: on a busy machine an
      // engine's answer can take seconds, and the platform's default (10 s) would call such an engine lost.
      engineTimeoutMs: 30_000,
    },
    router: { kind: options.router },
    strategy: options.strategy === 'rolling' ? { type: 'rolling' } : CANARY,
    // pnpm demo's error limits. Latency is judged more loosely: a container's first seconds on a busy machine
    // (several engines, the load generator and the router sharing its CPUs) can triple a p99 without any fault of the release.
    analysis: { minRequests: 40, maxErrorRateIncrease: 0.01, maxErrorRate: 0.05, maxLatencyRatio: 5, minLatencyIncreaseMs: 1000, inconclusiveRetries: 2, onInconclusive: 'fail' },
    // A container starts slower than a process (the engine creates it, then Node starts in it), and much slower on a busy machine.
    timeouts: { readyMs: 60_000, drainMs: 10_000, stopMs: 10_000 },
  };
}

/** Writes the config a user would have in their project (the demo edits `release` between deploys, as a user does). */
export async function writeDemoConfig(file: string, config: DeployConfig): Promise<void> {
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

/**
 * What a person needs to see of the config: the service, the release and
 * the fleet, one host a line; the canary and analysis are `pnpm demo`'s.
 */
export function formatConfigExcerpt(config: DeployConfig): string {
  const { kind, hosts, ...platform } = config.platform ?? {};
  const lines = [
    '{',
    `  "service": ${JSON.stringify(config.service)}, "instances": ${JSON.stringify(config.instances)},`,
    `  "release": ${JSON.stringify(config.release)},`,
    `  "platform": {`,
    `    "kind": ${JSON.stringify(kind)},`,
    `    "hosts": [`,
    ...(Array.isArray(hosts) ? hosts : []).map((host, index, all) => `      ${JSON.stringify(host)}${index < all.length - 1 ? ',' : ''}`),
    '    ],',
    ...Object.entries(platform).map(([key, value], index, all) => `    ${JSON.stringify(key)}: ${JSON.stringify(value)}${index < all.length - 1 ? ',' : ''}`),
    '  },',
    `  "strategy": …, "analysis": …, "timeouts": …  (pnpm demo's)`,
    '}',
  ];
  return lines.join('\n');
}

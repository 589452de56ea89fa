import type { ServiceStatus } from '@baton/deploy';
import type { DemoHost } from './demo-config.js';

/** Where one serving instance runs: its container, on which engine, reached by the router at which address. */
export interface Placement {
  id: string;
  release: string;
  /** The engine's name in the config's `platform.hosts`. */
  engine: string;
  container: string;
  /** `host:port` the router sends its traffic to: a port published on the engine's address. */
  address: string;
}

/**
 * The serving instances and where each runs, from the journal's records
 * (`baton status --json` holds the same): the platform records each
 * instance's container and engine so a restarted orchestrator finds them.
 */
export function placementOf(status: ServiceStatus, engines: readonly DemoHost[]): Placement[] {
  return status.instances
    .filter((instance) => instance.status === 'ready')
    .map((instance) => ({
      id: instance.id,
      release: instance.release,
      engine: instance.container?.engine ?? engineByAddress(engines, instance.host) ?? '?',
      container: instance.container?.id ?? '?',
      address: `${instance.host}:${instance.port}`,
    }))
    .sort((a, b) => a.engine.localeCompare(b.engine) || a.id.localeCompare(b.id));
}

function engineByAddress(engines: readonly DemoHost[], host: string): string | undefined {
  return engines.find((engine) => engine.address === host)?.name;
}

/** For people: one line per instance, grouped by engine. */
export function formatPlacement(placement: readonly Placement[]): string[] {
  return placement.map((where) => `  ${where.engine.padEnd(8)} ${where.id.padEnd(8)} ${where.release.padEnd(4)} container ${where.container.slice(0, 12)}  router → ${where.address}`);
}

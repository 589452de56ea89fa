// Where the fleet's instances run, as the bench needs to know it: the deploy
// config's platform section, the release spec of a version, and (where the
// platform keeps them readable) when each instance itself said it listens.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { statePaths, type DeployConfig, type ReleaseSpec } from '@baton/deploy';

export interface FleetPlatform {
  kind: string;
  /** The deploy config's `platform` section. */
  platform: NonNullable<DeployConfig['platform']>;
  release(version: string): ReleaseSpec;
  /** Epoch ms at which instance `id` logged that it listens, when the platform's logs are on this disk. */
  listeningAt(stateDir: string, id: string): number | undefined;
  /** What the fleet spans, for the report (e.g. "this machine", "2 engines"). */
  spans: string;
  close(): Promise<void>;
}

/** The Baton-served orders service (it serves /readyz and /metrics, which the analysis scrapes). */
export const ORDERS_MAIN = fileURLToPath(new URL('../../../examples/orders-express/dist/main.js', import.meta.url));
/** The same propagation delay as the deploy bench's Baton-served service. */
export const SERVICE_ENV = { BATON_PROPAGATION_DELAY_MS: '300' };

/** Local processes: `@baton/platform-local`, each instance announcing its port. */
export function localFleetPlatform(): FleetPlatform {
  return {
    kind: 'local',
    platform: { kind: 'local', port: 'announce' },
    release: (version) => ({ version, command: process.execPath, args: [ORDERS_MAIN], env: { ...SERVICE_ENV } }),
    listeningAt: (stateDir, id) => listeningLineAt(join(statePaths(stateDir).instances, 'logs', `${id}.log`)),
    spans: 'this machine',
    close: async () => undefined,
  };
}

/** The time of the service's own "listening" log line (its lifecycle is ready when it listens: no startup work). */
export function listeningLineAt(logFile: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes('"listening"') || !line.includes('"time"')) continue;
    try {
      const parsed = JSON.parse(line) as { time?: string; event?: string };
      if (parsed.event === 'listening' && parsed.time !== undefined) return Date.parse(parsed.time);
    } catch {
      // Not a JSON line: the next one.
    }
  }
  return undefined;
}

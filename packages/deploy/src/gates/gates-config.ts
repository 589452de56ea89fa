import { describe } from '../internal/config-values.js';
import { resolveContractsGate, type ContractsGateSettings } from './contracts-gate.js';
import { resolveMigrationsGate, type MigrationsGateSettings } from './migrations-gate.js';

/**
 * The gates of a deploy config (`gates`, and each environment's over it):
 * what must hold before a release moves any traffic in the environment.
 *
 * @example
 * gates: {
 *   contracts: { results: 'pacts/verification/{version}.json' },
 *   migrations: { dir: 'db/migrations' },
 *   soak: { durationMs: 30 * 60_000, minRequests: 500 }, // in the previous environment
 *   approval: true, // someone runs `baton approve v2 --env production`
 * }
 */
export interface GatesConfig {
  /** The release's provider verification (a Pact Broker's can-i-deploy, or the local verification record); `true` for the defaults, `false` for none. */
  contracts?: boolean | ContractsGateSettings;
  /** `baton migrations check` of `dir` against the releases running in the environment; `false` for none. */
  migrations?: false | MigrationsGateSettings;
  /**
   * How long the release must have run in the previous environment, with its
   * analysis passed and — while it still serves there — its error rate since
   * its instances started within `analysis.maxErrorRate` over at least
   * `minRequests` requests (default 0: any traffic); `false` for none.
   */
  soak?: false | { durationMs: number; minRequests?: number };
  /** A person approves the release for the environment (`baton approve <version> --env <name>`). */
  approval?: boolean;
}

/** {@link GatesConfig} checked: a gate that is off is absent. */
export interface ResolvedGates {
  contracts?: ContractsGateSettings;
  migrations?: MigrationsGateSettings;
  /** `minRequests` is absent when not configured: 0, no traffic asked for. */
  soak?: { durationMs: number; minRequests?: number };
  approval: boolean;
}

/** The gates a deploy checks, in the order they are reported. */
export const GATE_NAMES = ['previous-environment', 'contracts', 'migrations', 'soak', 'approval'] as const;

/** Checks `gates` (problems named from `field`, e.g. `environments.production.gates`). */
export function resolveGates(input: unknown, field: string, problems: string[]): ResolvedGates {
  const gates: ResolvedGates = { approval: false };
  if (input === undefined) return gates;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    problems.push(`${field}: an object { contracts?, migrations?, soak?, approval? }; got ${describe(input)}`);
    return gates;
  }
  const value = input as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    if (!['contracts', 'migrations', 'soak', 'approval'].includes(key)) problems.push(`${field}.${key}: not a gate; known: contracts, migrations, soak, approval`);
  }
  if (value['contracts'] !== undefined && value['contracts'] !== false) {
    const contracts = resolveContractsGate(value['contracts'], `${field}.contracts`, problems);
    if (contracts !== undefined) gates.contracts = contracts;
  }
  if (value['migrations'] !== undefined && value['migrations'] !== false) {
    const migrations = resolveMigrationsGate(value['migrations'], `${field}.migrations`, problems);
    if (migrations !== undefined) gates.migrations = migrations;
  }
  const soak = value['soak'];
  if (soak !== undefined && soak !== false) {
    const settings = typeof soak === 'object' && soak !== null && !Array.isArray(soak) ? (soak as Record<string, unknown>) : undefined;
    const durationMs = settings?.['durationMs'];
    const minRequests = settings?.['minRequests'];
    const extra = settings === undefined ? [] : Object.keys(settings).filter((key) => key !== 'durationMs' && key !== 'minRequests');
    let valid = true;
    if (settings === undefined || typeof durationMs !== 'number' || !Number.isInteger(durationMs) || durationMs < 0 || durationMs > 30 * 86_400_000 || extra.length > 0) {
      problems.push(`${field}.soak: { durationMs } — how long the release must have run in the previous environment, 0 to 30 days in ms (e.g. 1800000 for 30 minutes), optionally with minRequests (its traffic there); or false; got ${describe(soak)}`);
      valid = false;
    }
    if (minRequests !== undefined && (typeof minRequests !== 'number' || !Number.isSafeInteger(minRequests) || minRequests < 0 || minRequests > 1e9)) {
      problems.push(`${field}.soak.minRequests: how many requests the release must have served in the previous environment for its error rate there to be judged, a whole number from 0 to 1000000000 (0: any traffic); got ${describe(minRequests)}`);
      valid = false;
    }
    if (valid) gates.soak = { durationMs: durationMs as number, ...(minRequests === undefined ? {} : { minRequests: minRequests as number }) };
  }
  const approval = value['approval'];
  if (approval !== undefined && typeof approval !== 'boolean') problems.push(`${field}.approval: true (someone runs baton approve <version> --env <environment>) or false; got ${describe(approval)}`);
  else gates.approval = approval === true;
  return gates;
}

/** True when any gate is on. */
export function anyGate(gates: ResolvedGates): boolean {
  return gates.contracts !== undefined || gates.migrations !== undefined || gates.soak !== undefined || gates.approval;
}

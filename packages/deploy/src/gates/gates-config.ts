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
 *   soak: { durationMs: 30 * 60_000 }, // in the previous environment
 *   approval: true, // someone runs `baton approve v2 --env production`
 * }
 */
export interface GatesConfig {
  /** The release's provider verification (a Pact Broker's can-i-deploy, or the local verification record); `true` for the defaults, `false` for none. */
  contracts?: boolean | ContractsGateSettings;
  /** `baton migrations check` of `dir` against the releases running in the environment; `false` for none. */
  migrations?: false | MigrationsGateSettings;
  /** How long the release must have run in the previous environment, with its analysis passed; `false` for none. */
  soak?: false | { durationMs: number };
  /** A person approves the release for the environment (`baton approve <version> --env <name>`). */
  approval?: boolean;
}

/** {@link GatesConfig} checked: a gate that is off is absent. */
export interface ResolvedGates {
  contracts?: ContractsGateSettings;
  migrations?: MigrationsGateSettings;
  soak?: { durationMs: number };
  approval: boolean;
}

/** The gates a deploy checks, in the order they are reported. */
export const GATE_NAMES = ['previous-environment', 'contracts', 'migrations', 'soak', 'approval'] as const;

/** Checks `gates` (problems named from `field`, e.g. `environments.production.gates`). */
export function resolveGates(input: unknown, field: string, problems: string[]): ResolvedGates {
  const gates: ResolvedGates = { approval: false };
  if (input === undefined) return gates;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    problems.push(`${field}: an object { contracts?, migrations?, soak?, approval? }; got ${JSON.stringify(input)}`);
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
    const durationMs = typeof soak === 'object' && soak !== null && !Array.isArray(soak) ? (soak as Record<string, unknown>)['durationMs'] : undefined;
    const extra = typeof soak === 'object' && soak !== null ? Object.keys(soak).filter((key) => key !== 'durationMs') : [];
    if (typeof durationMs !== 'number' || !Number.isInteger(durationMs) || durationMs < 0 || durationMs > 30 * 86_400_000 || extra.length > 0) {
      problems.push(`${field}.soak: { durationMs } — how long the release must have run in the previous environment, 0 to 30 days in ms (e.g. 1800000 for 30 minutes), or false; got ${JSON.stringify(soak)}`);
    } else gates.soak = { durationMs };
  }
  const approval = value['approval'];
  if (approval !== undefined && typeof approval !== 'boolean') problems.push(`${field}.approval: true (someone runs baton approve <version> --env <environment>) or false; got ${JSON.stringify(approval)}`);
  else gates.approval = approval === true;
  return gates;
}

/** True when any gate is on. */
export function anyGate(gates: ResolvedGates): boolean {
  return gates.contracts !== undefined || gates.migrations !== undefined || gates.soak !== undefined || gates.approval;
}

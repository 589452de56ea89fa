import type { GateResult } from './gates/gate.js';
import type { InstanceRecord, ReleaseSpec } from './model.js';
import type { Strategy } from './strategies/plan.js';
import type { Step } from './strategies/step.js';

/** Where an instance is in its life, as the orchestrator last recorded it. */
export type InstanceStatus =
  /** Started, not ready yet: gets no traffic. */
  | 'starting'
  /** Readiness passed and it is in the router. */
  | 'ready'
  /** Out of traffic, finishing its in-flight work before it is stopped. */
  | 'draining'
  | 'stopped'
  /** Never became ready, or exited on its own. */
  | 'failed';

export interface TrackedInstance extends InstanceRecord {
  status: InstanceStatus;
}

/** Where a deploy is. Terminal: succeeded, rolled-back, failed. */
export type DeployPhase = 'running' | 'paused' | 'rolling-back' | 'succeeded' | 'rolled-back' | 'failed';

/** One deploy, from its plan to its end. */
export interface DeployRecord {
  id: string;
  /** The version that was serving when the deploy began; absent for a service's first deploy. */
  from?: string;
  to: string;
  candidate: JournaledRelease;
  strategy: Strategy;
  steps: Step[];
  /** The step being run (or to run next after a restart): steps are idempotent, so it is safe to run it again. */
  stepIndex: number;
  /** The traffic split in force: the candidate's percentage, or even over every ready instance. */
  traffic: number | 'even';
  phase: DeployPhase;
  /** Why it paused, rolled back or failed. */
  reason?: string;
  startedAtMs: number;
  endedAtMs?: number;
  /** Who started it (the OS user and machine): the environment's history says it. */
  by?: { user: string; host: string };
  /** How the release came: a deploy of the config's release, a promotion from the previous environment, or a rollback. */
  via?: 'deploy' | 'promote' | 'rollback';
  /** For a promotion: the environment the release came from. */
  promotedFrom?: string;
  /** The gates checked before it began, with their evidence. */
  gates?: GateResult[];
  /** Its analysis windows so far, by verdict. */
  analyses?: { pass: number; fail: number; inconclusive: number };
  /** A DNS switch's progress (blue/green with `switch: { kind: 'dns' }`). */
  dns?: DnsSwitchProgress;
}

/** What a DNS blue/green deploy did to the record, journaled so a resumed deploy and a rollback know. */
export interface DnsSwitchProgress {
  /** When the record's TTL was lowered, and the TTL (seconds) it had before: the switch waits that long after. */
  lowered?: { atMs: number; fromTtl: number };
  /** When the record last moved to another stack (colors), and its TTL (seconds) then: the stack it left is watched from this moment. */
  switched?: { atMs: number; to: string; from?: string; ttl: number };
}

/**
 * A release as the journal keeps it. Its secret variables (a secret name,
 * one listed in `secretEnv`, or a value holding a password or token) are not
 * in `env` but in `sealedEnv`, as keyed fingerprints: the journal holds no
 * secret in clear (`journal-secrets.ts`). A release read back from the
 * journal gets their values again only when an instance of it starts.
 */
export interface JournaledRelease extends ReleaseSpec {
  /** Secret variable name → `hmac-sha256:<hex>` of its name and value, keyed with `<journal>/.seal-key`. */
  sealedEnv?: Readonly<Record<string, string>>;
}

/**
 * Everything the orchestrator knows about a service: what the journal stores.
 *
 * A resumed deploy and a rollback start instances of releases whose
 * environments are nowhere else (the config holds only the new release), so
 * the release specs in it (`stable`, `previous`, the deploy's `candidate`)
 * keep their `env` — but not their secrets: the orchestrator keeps the
 * working values in memory and writes a sealed copy ({@link JournaledRelease});
 * an instance of a release read back from the journal takes each secret from
 * the config's release `env` when it names it, else from the orchestrator's
 * environment, and the deploy stops with an error naming the variable when
 * neither has it (and goes on, with an event `secret-changed`, when the
 * value is not the one the release was deployed with). The state file is
 * still 0600 in a 0700 directory: it names the service's hosts, ports and
 * settings.
 */
export interface ServiceState {
  service: string;
  /** The release serving at rest (after the last successful deploy). */
  stable?: JournaledRelease;
  /** The release before it, what `baton rollback` after a finished deploy goes back to. */
  previous?: JournaledRelease;
  instances: TrackedInstance[];
  /** Instance ids are `<version>-<n>`; n never repeats within a service. */
  nextInstance: number;
  deploy?: DeployRecord;
  /**
   * Set by `baton down`: when the service was taken down, and the release
   * that was serving then (none when nothing was). It holds until a deploy
   * starts after `atMs`; `previous` is then that release.
   */
  down?: { atMs: number; release?: string };
}

/** True for a deploy that has ended one way or another. */
export function isFinished(phase: DeployPhase): boolean {
  return phase === 'succeeded' || phase === 'rolled-back' || phase === 'failed';
}

/** True when the service stands taken down by `baton down`: no deploy started since. */
export function isDown(state: ServiceState | undefined): state is ServiceState & { down: NonNullable<ServiceState['down']> } {
  const down = state?.down;
  return down !== undefined && (state?.deploy === undefined || state.deploy.startedAtMs < down.atMs);
}

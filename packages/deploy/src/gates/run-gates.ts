import { join } from 'node:path';
import type { ResolvedDeployConfig } from '../deploy-config.js';
import { createHistory, servedSpan, type HistoryEntry } from '../environments/history.js';
import type { ReleaseSpec } from '../model.js';
import { createFileJournal } from '../journal/file-journal.js';
import { createReleaseRegistry } from '../releases/release-registry.js';
import { statePaths } from '../service-router.js';
import type { ServiceState } from '../service-state.js';
import { checkApproval } from './approval-gate.js';
import { checkContractsGate } from './contracts-gate.js';
import type { GateContext, GateResult } from './gate.js';
import { anyGate } from './gates-config.js';
import { checkMigrationsGate } from './migrations-gate.js';
import { checkPipeline } from './pipeline-gate.js';
import { checkSoak, checkSoakLive, mergeSoak } from './soak-gate.js';

/** What {@link checkGates} is asked about. */
export interface GateQuestion {
  /** The release to deploy, pinned (its artifact recorded). */
  release: ReleaseSpec;
  /** The environment's journaled state: what runs there now. */
  state: ServiceState | undefined;
  /** A deploy straight into the environment, or a promotion from the previous one. */
  via: 'deploy' | 'promote';
  env: Readonly<Record<string, string | undefined>>;
  now?: () => number;
  signal?: AbortSignal;
}

/**
 * Every gate of the environment, in order (previous environment, contracts,
 * migrations, soak, approval), each pass / fail / skipped with its
 * evidence. All are checked, also after one fails, so one report says
 * everything that stands in the way. Undefined for a service without
 * environments or gates: nothing to report.
 */
export async function checkGates(config: ResolvedDeployConfig, question: GateQuestion): Promise<GateResult[] | undefined> {
  if (config.environment === undefined && !anyGate(config.gates)) return undefined;
  const now = question.now ?? Date.now;
  const environment = config.environment ?? config.service;
  const version = question.release.version;
  const digest = question.release.artifact?.digest;
  const registry = createReleaseRegistry(statePaths(config.serviceDir).releases);
  const { releases } = await registry.list();
  const record = releases.find((release) => release.version === version);
  const previous = config.previousEnvironment;
  const previousHistory: HistoryEntry[] = previous === undefined || question.via !== 'promote' ? [] : (await createHistory(join(config.serviceDir, 'env', previous)).read()).entries;
  const order = releases.map((release) => release.version);
  const context: GateContext = {
    service: config.service,
    environment,
    ...(previous === undefined ? {} : { previousEnvironment: previous }),
    release: { version, artifact: question.release.artifact, source: record?.source },
    deployedReleases: deployedReleases(question.state, order),
    releaseOrder: order,
    cwd: config.lookupFrom[0] ?? process.cwd(),
    ...(question.release.artifact?.kind === 'bundle' ? { releaseDir: question.release.artifact.location } : {}),
    env: question.env,
    now,
    ...(question.signal ? { signal: question.signal } : {}),
  };
  const skipped = (gate: string): GateResult => ({ gate, status: 'skipped', summary: `not configured for ${environment}.`, evidence: [] });
  const failed = (gate: string, error: unknown): GateResult => ({ gate, status: 'fail', summary: `the ${gate} gate could not run: ${error instanceof Error ? error.message : String(error)}`, evidence: [] });
  const results: GateResult[] = [];
  if (config.environment !== undefined) {
    results.push(checkPipeline({ version, digest, environment, previousEnvironment: previous, via: question.via, previousHistory }));
  }
  results.push(config.gates.contracts === undefined ? skipped('contracts') : await checkContractsGate(config.gates.contracts, context).catch((error: unknown) => failed('contracts', error)));
  results.push(config.gates.migrations === undefined ? skipped('migrations') : await checkMigrationsGate(config.gates.migrations, context).catch((error: unknown) => failed('migrations', error)));
  if (question.via === 'deploy' && previous !== undefined && config.gates.soak !== undefined) {
    // A deploy straight into a later environment is refused by the pipeline gate; the soak is counted on a promotion.
    results.push({ gate: 'soak', status: 'skipped', summary: `counted when ${version} is promoted from ${previous}, where it soaks.`, evidence: [] });
  } else {
    results.push(await checkSoakGate(config, { version, environment, previousEnvironment: question.via === 'promote' ? previous : undefined, previousHistory, now, signal: question.signal }));
  }
  results.push(await checkApproval(config.gates.approval, { serviceDir: config.serviceDir, version, digest, environment }));
  return results;
}

/**
 * The soak gate: {@link checkSoak} on the previous environment's history, and
 * — while the release still serves there — {@link checkSoakLive} on its
 * instances now, merged into one result.
 */
async function checkSoakGate(
  config: ResolvedDeployConfig,
  question: { version: string; environment: string; previousEnvironment: string | undefined; previousHistory: readonly HistoryEntry[]; now: () => number; signal: AbortSignal | undefined },
): Promise<GateResult> {
  const { version, previousEnvironment: previous } = question;
  const history = checkSoak(config.gates.soak, { ...question, now: question.now() });
  const span = servedSpan(question.previousHistory, version);
  // Never served there: the history said all there is to say.
  if (history.status === 'skipped' || previous === undefined || span === undefined) return history;
  let live: GateResult | undefined;
  try {
    // Replaced there: its soak is judged by its history alone, whatever its journal holds. Read without the
    // lock: a deploy running there may write it meanwhile, and a state a moment old is as good.
    const previousState = span.untilMs !== undefined ? undefined : await createFileJournal<ServiceState>({ dir: join(config.serviceDir, 'env', previous, 'journal') }).read();
    live = await checkSoakLive(config.gates.soak, {
      version,
      previousEnvironment: previous,
      previousHistory: question.previousHistory,
      previousState,
      thresholds: config.analysis,
      // The target environment's config: the environments of one service share the metrics path and token
      // unless one is configured otherwise (then the previous environment's own are not known here).
      metricsPath: config.paths.metrics,
      ...(config.metricsToken === undefined ? {} : { token: config.metricsToken }),
      now: question.now,
      ...(question.signal === undefined ? {} : { signal: question.signal }),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const said = config.metricsToken === undefined ? message : message.replaceAll(config.metricsToken, '<token>');
    live = { gate: 'soak', status: 'fail', summary: `${version}'s live numbers in ${previous} could not be read: ${said.replace(/\.?$/, '.')}`, evidence: [] };
  }
  return mergeSoak(history, live);
}

/** The releases running in an environment: the stable one and any whose instances still run, oldest first (by when they were recorded). */
export function deployedReleases(state: ServiceState | undefined, order: readonly string[]): string[] {
  if (state === undefined) return [];
  const running = new Set<string>();
  if (state.stable !== undefined) running.add(state.stable.version);
  for (const instance of state.instances) {
    if (instance.status === 'ready' || instance.status === 'starting' || instance.status === 'draining') running.add(instance.release);
  }
  const rank = (version: string): number => {
    const index = order.indexOf(version);
    return index === -1 ? Number.MAX_SAFE_INTEGER : index;
  };
  return [...running].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** For people: `pass     contracts  3 interactions verified…` and the evidence indented below. */
export function formatGates(results: readonly GateResult[]): string {
  const width = Math.max(...results.map((result) => result.gate.length));
  return results
    .map((result) => [`  ${result.status.padEnd(7)}  ${result.gate.padEnd(width)}  ${result.summary}`, ...result.evidence.map((line) => `  ${' '.repeat(9 + width + 2)}${line}`)].join('\n'))
    .join('\n');
}

import type { CheckResult, CheckStatus, ProbeKind } from './check-registry.js';
import type { LifecycleState } from './states.js';

/** Which report: one of the three probes, or `health` (readiness plus every check). */
export type ReportKind = ProbeKind | 'health';

/** One entry under `checks` in an application/health+json body. */
export interface HealthCheckEntry {
  status: CheckStatus;
  time: string;
  observedValue?: unknown;
  observedUnit?: string;
  output?: string;
  componentType?: string;
  componentId?: string;
}

/** An application/health+json body (draft-inadarei-api-health-check). */
export interface HealthBody {
  status: CheckStatus;
  output?: string;
  serviceId?: string;
  releaseId?: string;
  notes?: string[];
  checks?: Record<string, HealthCheckEntry[]>;
}

/** A probe's answer: the status code machines read and the body people read. */
export interface ProbeReport {
  statusCode: 200 | 503;
  body: HealthBody;
}

/** What a report is built from. */
export interface ReportInput {
  kind: ReportKind;
  state: LifecycleState;
  results: readonly CheckResult[];
  verbose: boolean;
  /** Show `output` and `observedValue` of checks; when false only their status and time. */
  details: boolean;
  now: number;
  serviceId?: string | undefined;
  releaseId?: string | undefined;
}

/**
 * Builds a probe answer. The state rules live here, in one place:
 * liveness never fails because of draining; readiness passes only in `ready`;
 * startup passes once startup is over; a failed instance fails them all.
 */
export function buildReport(input: ReportInput): ProbeReport {
  const fromChecks = worstOf(input.results);
  const stateProblem = stateFailure(input.kind, input.state);
  const status: CheckStatus = stateProblem ? 'fail' : fromChecks;
  const body: HealthBody = { status };
  if (stateProblem) body.output = stateProblem;
  else if (status === 'fail') body.output = `failing: ${failingNames(input.results).join(', ')}`;
  if (input.serviceId !== undefined) body.serviceId = input.serviceId;
  if (input.releaseId !== undefined) body.releaseId = input.releaseId;
  if (input.verbose) {
    body.notes = [`lifecycle state: ${input.state}`];
    const checks: Record<string, HealthCheckEntry[]> = {
      'lifecycle:state': [
        {
          status: stateProblem ? 'fail' : 'pass',
          time: new Date(input.now).toISOString(),
          observedValue: input.state,
          componentType: 'system',
        },
      ],
    };
    for (const result of input.results) checks[result.name] = [toEntry(result, input.details)];
    body.checks = checks;
  }
  return { statusCode: status === 'fail' ? 503 : 200, body };
}

function stateFailure(kind: ReportKind, state: LifecycleState): string | undefined {
  if (state === 'failed') return 'failed';
  switch (kind) {
    case 'liveness':
      return undefined;
    case 'startup':
      return state === 'starting' ? 'starting' : undefined;
    case 'readiness':
    case 'health':
      return state === 'ready' ? undefined : state;
  }
}

/** fail if a critical check fails; warn if a non-critical one fails or any warns; else pass. */
export function worstOf(results: readonly CheckResult[]): CheckStatus {
  let status: CheckStatus = 'pass';
  for (const result of results) {
    if (result.status === 'fail' && result.critical) return 'fail';
    if (result.status !== 'pass') status = 'warn';
  }
  return status;
}

function failingNames(results: readonly CheckResult[]): string[] {
  return results.filter((r) => r.status === 'fail' && r.critical).map((r) => r.name);
}

function toEntry(result: CheckResult, details: boolean): HealthCheckEntry {
  const entry: HealthCheckEntry = { status: result.status, time: result.time };
  if (result.componentType !== undefined) entry.componentType = result.componentType;
  if (!details) return entry;
  if (result.componentId !== undefined) entry.componentId = result.componentId;
  if (result.observedValue !== undefined) entry.observedValue = result.observedValue;
  if (result.observedUnit !== undefined) entry.observedUnit = result.observedUnit;
  if (result.output !== undefined) entry.output = result.output;
  return entry;
}

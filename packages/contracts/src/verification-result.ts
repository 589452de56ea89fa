import type { LocalInteraction } from './pact-source.js';
import type { StateFailure } from './internal/state-recorder.js';

/** How one interaction came out. */
export interface InteractionOutcome {
  /** The consumer, when known (from local pact files). */
  consumer: string | undefined;
  description: string;
  status: 'passed' | 'failed';
  /** The pact is pending (enablePending): its failure does not fail the verification. */
  pending?: boolean;
  /** Readable reasons, empty when passed. */
  failures: string[];
}

/** The result of {@link verifyProvider}. */
export interface VerificationResult {
  passed: boolean;
  interactions: InteractionOutcome[];
  /** A readable summary of what failed, empty when everything passed. */
  summary: string;
  /** The verifier's raw JSON report. */
  raw: unknown;
}

interface RawError {
  interaction?: unknown;
  mismatch?: { type?: unknown; message?: unknown; mismatches?: unknown };
}

/** Reads the verifier's JSON report (from pact_ffi) into per-interaction reasons. */
/** One entry of pact_ffi's `interactionResults` (present in pact_ffi 0.4.x reports). */
export interface ReportedInteraction {
  consumer: string | undefined;
  description: string;
  states: string[];
  ok: boolean;
  pending: boolean;
  reasons: string[];
}

export function parseVerifierReport(text: string): {
  raw: unknown;
  errors: Map<string, string[]>;
  interactions: ReportedInteraction[] | undefined;
  result: boolean | undefined;
} {
  const errors = new Map<string, string[]>();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { raw: text, errors, interactions: undefined, result: undefined };
  }
  const report = raw as { result?: unknown; errors?: unknown; interactionResults?: unknown };
  const interactions = Array.isArray(report.interactionResults)
    ? (report.interactionResults as Record<string, unknown>[]).map((entry) => ({
        consumer: typeof entry['consumer'] === 'string' ? entry['consumer'] : undefined,
        description: String(entry['description'] ?? ''),
        states: Array.isArray(entry['providerStates']) ? (entry['providerStates'] as unknown[]).map(String) : [],
        ok: entry['result'] === 'OK',
        pending: entry['pending'] === true,
        reasons: entry['result'] === 'OK' ? [] : describeRawMismatch(entry['mismatch'] as RawError['mismatch']),
      }))
    : undefined;
  for (const entry of (Array.isArray(report.errors) ? report.errors : []) as RawError[]) {
    const name = String(entry.interaction ?? '(unknown interaction)');
    errors.set(name, [...(errors.get(name) ?? []), ...describeRawMismatch(entry.mismatch)]);
  }
  return { raw, errors, interactions, result: typeof report.result === 'boolean' ? report.result : undefined };
}

function describeRawMismatch(mismatch: RawError['mismatch']): string[] {
  if (mismatch && Array.isArray(mismatch.mismatches)) return (mismatch.mismatches as Record<string, unknown>[]).map(describeMismatch);
  if (mismatch && typeof mismatch.message === 'string') return [mismatch.message];
  return [mismatch === undefined ? 'failed (no details reported)' : JSON.stringify(mismatch)];
}

function describeMismatch(m: Record<string, unknown>): string {
  const type = String(m['type'] ?? 'Mismatch');
  const where = m['path'] !== undefined ? ` at ${String(m['path'])}` : m['key'] !== undefined ? ` in ${String(m['key'])}` : '';
  const text = typeof m['mismatch'] === 'string' ? m['mismatch'] : `expected ${JSON.stringify(m['expected'])}, got ${JSON.stringify(m['actual'])}`;
  return `${type}${where}: ${text}`;
}

/** Joins what the verifier reported with the provider-state failures Baton recorded. */
export function buildResult(input: {
  report: ReturnType<typeof parseVerifierReport>;
  interactions: LocalInteraction[] | undefined;
  stateFailures: readonly StateFailure[];
  crashed: string | undefined;
}): VerificationResult {
  const { report, stateFailures } = input;
  const outcomes: InteractionOutcome[] = [];
  const seen = new Set<string>();
  const stateReasons = (states: readonly string[]) =>
    stateFailures.filter((f) => states.includes(f.state)).map((f) => `provider state "${f.state}": ${f.reason}`);
  if (report.interactions !== undefined) {
    // The verifier listed every interaction it ran, with its provider states: the most precise source.
    for (const reported of report.interactions) {
      const reasons = [...stateReasons(reported.states), ...reported.reasons];
      const outcome: InteractionOutcome = { consumer: reported.consumer, description: reported.description, status: reasons.length ? 'failed' : 'passed', failures: [...new Set(reasons)] };
      if (reported.pending) outcome.pending = true;
      outcomes.push(outcome);
    }
    return summarize(outcomes, report, input.crashed);
  }
  for (const interaction of input.interactions ?? []) {
    const keys = [...report.errors.keys()].filter((key) => namesInteraction(key, interaction.consumer, interaction.description));
    for (const key of keys) seen.add(key);
    const reasons = [...stateReasons(interaction.states), ...keys.flatMap((key) => report.errors.get(key) ?? [])];
    outcomes.push({ consumer: interaction.consumer, description: interaction.description, status: reasons.length ? 'failed' : 'passed', failures: [...new Set(reasons)] });
  }
  for (const [key, reasons] of report.errors) {
    if (seen.has(key)) continue;
    const named = /^Verifying a pact between (.+?) and .+? - (.+)$/s.exec(key);
    outcomes.push({ consumer: named?.[1], description: named?.[2] ?? key, status: 'failed', failures: reasons });
  }
  if (input.interactions === undefined) {
    // From a broker the interactions are not known up front: a state failure stands on its own.
    for (const failure of stateFailures) {
      outcomes.push({ consumer: undefined, description: `provider state "${failure.state}"`, status: 'failed', failures: [failure.reason] });
    }
  }
  return summarize(outcomes, report, input.crashed);
}

function summarize(outcomes: InteractionOutcome[], report: ReturnType<typeof parseVerifierReport>, crashed: string | undefined): VerificationResult {
  const input = { crashed };
  // A pending pact (the broker's enablePending) reports failures without failing the build.
  const failed = outcomes.filter((o) => o.status === 'failed' && !o.pending);
  const stateFailed = outcomes.some((o) => o.status === 'failed' && o.failures.some((f) => f.startsWith('provider state ')));
  const passed = failed.length === 0 && !stateFailed && input.crashed === undefined && (report.result !== false || onlyPendingFailed(report));
  const lines: string[] = [];
  if (input.crashed !== undefined) lines.push(`Verification could not run: ${input.crashed}`);
  if (failed.length > 0) {
    lines.push(`${failed.length} of ${outcomes.length} interaction(s) failed:`);
    for (const o of failed) {
      lines.push(`  ✗ ${o.consumer ? `${o.consumer}: ` : ''}${o.description}`);
      for (const reason of o.failures) lines.push(`      - ${reason}`);
    }
  } else if (!passed && input.crashed === undefined) {
    lines.push('Verification failed (the verifier reported failure without naming an interaction; see its output).');
  }
  return { passed, interactions: outcomes, summary: lines.join('\n'), raw: report.raw };
}

// pact_ffi names an interaction "Verifying a pact between <consumer> and <provider>[ Given <state>] - <description>".
function namesInteraction(key: string, consumer: string, description: string): boolean {
  return key === description || (key.startsWith(`Verifying a pact between ${consumer} and `) && key.endsWith(` - ${description}`));
}

function onlyPendingFailed(report: ReturnType<typeof parseVerifierReport>): boolean {
  return report.interactions !== undefined && report.interactions.every((i) => i.ok || i.pending);
}

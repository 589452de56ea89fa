import { shortDigest, formatReleaseTime } from '../releases/release-record.js';
import type { HistoryEntry } from '../environments/history.js';
import type { GateResult } from './gate.js';

/** What the pipeline gate is asked: may `version` come into `environment`, and did it pass the environment before? */
export interface PipelineQuestion {
  version: string;
  digest: string | undefined;
  environment: string;
  /** The environment before it in the pipeline; undefined when it is the first (or stands alone). */
  previousEnvironment: string | undefined;
  /** A promotion (from `previousEnvironment`), or a deploy straight into `environment`. */
  via: 'deploy' | 'promote';
  /** The previous environment's history, oldest first (promotions only). */
  previousHistory: readonly HistoryEntry[];
}

/**
 * `previous-environment`: a release enters the pipeline at its first
 * environment (`baton deploy --env staging`) and reaches each later one only
 * by promotion, as the very artifact whose last deploy succeeded in the
 * environment before — and was not rolled back there afterwards.
 */
export function checkPipeline(question: PipelineQuestion): GateResult {
  const { version, environment, previousEnvironment: previous } = question;
  const gate = 'previous-environment';
  if (question.via === 'deploy') {
    if (previous === undefined) return { gate, status: 'skipped', summary: `${environment} takes releases straight from a deploy: it is where they enter the pipeline.`, evidence: [] };
    return {
      gate,
      status: 'fail',
      summary: `${environment} takes releases from ${previous} only: run baton promote ${version} --to ${environment} once it passed there.`,
      evidence: [],
    };
  }
  if (previous === undefined) return { gate, status: 'fail', summary: `${environment} has no environment before it in the pipeline to promote from: deploy to it with baton deploy --env ${environment}.`, evidence: [] };
  const entries = question.previousHistory;
  const index = entries.findLastIndex((entry) => entry.release === version && entry.outcome !== 'refused');
  if (index === -1) {
    const ran = [...new Set(entries.filter((entry) => entry.outcome === 'succeeded').map((entry) => entry.release))];
    return {
      gate,
      status: 'fail',
      summary: `${version} never ran in ${previous}; only a release that passed ${previous} is promoted to ${environment}.`,
      evidence: [ran.length === 0 ? `${previous} has run no release yet.` : `Releases that ran in ${previous}: ${ran.join(', ')}.`],
    };
  }
  const entry = entries[index] as HistoryEntry;
  const evidence = [describeEntry(entry, previous)];
  if (entry.outcome !== 'succeeded') {
    return { gate, status: 'fail', summary: `${version} did not pass ${previous}: its deploy there ${entry.outcome === 'rolled-back' ? 'was rolled back' : 'failed'}${entry.reason ? ` (${entry.reason})` : ''}.`, evidence, data: { deployId: entry.id } };
  }
  // Rolled back by hand after it succeeded: someone judged it bad there.
  const undone = entries.slice(index + 1).find((later) => later.via === 'rollback' && later.from === version && later.outcome === 'succeeded');
  if (undone !== undefined) {
    evidence.push(describeEntry(undone, previous));
    return { gate, status: 'fail', summary: `${version} was rolled back in ${previous} on ${formatReleaseTime(undone.startedAtMs)} by ${undone.by.user}@${undone.by.host} (back to ${undone.release}) after it was deployed there.`, evidence, data: { deployId: entry.id, rolledBackBy: undone.id } };
  }
  const ranDigest = entry.artifact?.digest;
  if (ranDigest !== question.digest) {
    return {
      gate,
      status: 'fail',
      summary: `${version} ran in ${previous} as ${ranDigest === undefined ? 'an unpinned release' : shortDigest(ranDigest)}, but its recorded artifact is ${question.digest === undefined ? 'unpinned' : shortDigest(question.digest)}: not the same artifact.`,
      evidence,
    };
  }
  return { gate, status: 'pass', summary: `${version} passed ${previous}: the same artifact${ranDigest === undefined ? '' : ` (${shortDigest(ranDigest)})`} was deployed there and not rolled back.`, evidence, data: { deployId: entry.id } };
}

/** One history entry for a gate's evidence: `deploy orders-… of v2 (from v1): succeeded on 2026-12-07 19:02 UTC by ann@ci-3, 3 analysis windows passed`. */
export function describeEntry(entry: HistoryEntry, environment: string): string {
  const how = entry.via === 'promote' ? `promotion from ${entry.promotedFrom ?? '?'}` : entry.via;
  const analyses = entry.analyses === undefined ? '' : `, analysis ${entry.analyses.pass} passed / ${entry.analyses.fail} failed / ${entry.analyses.inconclusive} inconclusive`;
  return `${environment}: ${how} ${entry.id} of ${entry.release}${entry.from ? ` (from ${entry.from})` : ''}: ${entry.outcome} on ${formatReleaseTime(entry.endedAtMs)} by ${entry.by.user}@${entry.by.host}${analyses}${entry.reason ? ` — ${entry.reason}` : ''}.`;
}

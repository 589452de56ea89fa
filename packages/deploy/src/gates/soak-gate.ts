import { servedSpan, type HistoryEntry } from '../environments/history.js';
import { formatReleaseTime } from '../releases/release-record.js';
import type { GateResult } from './gate.js';

/**
 * `soak`: the release served in the previous environment for at least
 * `durationMs` — counted from the end of its last successful deploy there
 * until now, or until the next release took over — and no analysis window
 * of that deploy failed.
 */
export function checkSoak(settings: { durationMs: number } | undefined, question: { version: string; environment: string; previousEnvironment: string | undefined; previousHistory: readonly HistoryEntry[]; now: number }): GateResult {
  const gate = 'soak';
  const { version, previousEnvironment: previous } = question;
  if (settings === undefined) return { gate, status: 'skipped', summary: `not configured for ${question.environment}.`, evidence: [] };
  if (previous === undefined) return { gate, status: 'skipped', summary: `${question.environment} has no environment before it to soak in.`, evidence: [] };
  const asked = formatDuration(settings.durationMs);
  const span = servedSpan(question.previousHistory, version);
  if (span === undefined) return { gate, status: 'fail', summary: `${version} never served in ${previous}: it cannot have soaked there for ${asked}.`, evidence: [] };
  const servedMs = (span.untilMs ?? question.now) - span.sinceMs;
  const evidence = [
    span.untilMs === undefined
      ? `${version} has served in ${previous} since ${formatReleaseTime(span.sinceMs)}: ${formatDuration(servedMs)}.`
      : `${version} served in ${previous} from ${formatReleaseTime(span.sinceMs)} until ${span.endedBy?.release ?? 'another release'} replaced it on ${formatReleaseTime(span.untilMs)}: ${formatDuration(servedMs)}.`,
  ];
  const analyses = span.entry.analyses;
  evidence.push(
    analyses === undefined
      ? `No analysis window ran in its deploy there (${previous}'s strategy has none).`
      : `Its deploy there: ${analyses.pass} analysis window${analyses.pass === 1 ? '' : 's'} passed, ${analyses.fail} failed, ${analyses.inconclusive} inconclusive.`,
  );
  const data = { servedMs, durationMs: settings.durationMs, since: span.sinceMs, ...(span.untilMs === undefined ? {} : { until: span.untilMs }), ...(analyses === undefined ? {} : { analyses }) };
  if (analyses !== undefined && analyses.fail > 0) return { gate, status: 'fail', summary: `${version}'s analysis failed in ${previous}.`, evidence, data };
  if (servedMs < settings.durationMs) {
    const more = span.untilMs === undefined ? `; ${formatDuration(settings.durationMs - servedMs)} to go` : '';
    return { gate, status: 'fail', summary: `${version} has soaked in ${previous} for ${formatDuration(servedMs)} of the ${asked} asked${more}.`, evidence, data };
  }
  return { gate, status: 'pass', summary: `${version} soaked in ${previous} for ${formatDuration(servedMs)} (${asked} asked).`, evidence, data };
}

/** `47 min`, `2 h 5 min`, `12 s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

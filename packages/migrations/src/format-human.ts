import type { CheckResult, FileResult, Finding } from './finding.js';

/** Options of {@link formatHuman}. */
export interface HumanFormatOptions {
  /** Print each finding's safe alternative (default true). */
  alternatives?: boolean;
  /** Also list files without findings (default true). */
  allFiles?: boolean;
}

/**
 * The check as text for a terminal or a CI log: each file with its
 * classification, each finding as `file:line:column` (clickable in most
 * terminals and editors) with the rule, the statement and the safe way.
 */
export function formatHuman(result: CheckResult, options: HumanFormatOptions = {}): string {
  const lines: string[] = [];
  for (const file of result.files) {
    if (file.findings.length === 0 && options.allFiles === false) continue;
    lines.push(`${file.file}  ${describeFile(file)}`);
    for (const finding of file.findings) lines.push(...describeFinding(finding, options.alternatives !== false));
  }
  const counts = new Map<string, number>();
  for (const file of result.files) counts.set(file.classification, (counts.get(file.classification) ?? 0) + 1);
  const kinds = ['expand', 'contract', 'neutral', 'unsafe'].filter((kind) => counts.has(kind)).map((kind) => `${counts.get(kind)} ${kind}`);
  const files = `${result.files.length} file${result.files.length === 1 ? '' : 's'}${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}`;
  lines.push('', `${files}, ${result.statements} statements, PostgreSQL ${result.targetVersion}: ${plural(result.errors, 'error')}, ${plural(result.warnings, 'warning')}.`);
  return `${lines.join('\n')}\n`;
}

function describeFile(file: FileResult): string {
  const contract = file.unusedSince ? ` (unused since ${file.unusedSince})` : '';
  return `${file.classification}${contract}${file.transaction ? '' : ', no transaction'}`;
}

function describeFinding(finding: Finding, alternatives: boolean): string[] {
  const where = `${finding.file}:${finding.line}:${finding.column}`;
  if (finding.ignored) return [`  ${where}  ignored ${finding.rule}: ${finding.message} (reason: ${finding.ignored.reason})`];
  const out = [`  ${where}  ${finding.severity} ${finding.rule}: ${finding.message}`, `      > ${finding.excerpt}`];
  if (alternatives) out.push(`      safe way: ${finding.alternative}`);
  return out;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

import { isAbsolute, relative, sep } from 'node:path';
import type { CompatibilityResult } from './compatibility.js';
import type { CheckResult } from './finding.js';
import { RULES } from './rules.js';

/** Options of {@link toSarif}. */
export interface SarifOptions {
  /** Paths in the log are made relative to this directory (the repository root, usually the working directory). Default `process.cwd()`. */
  baseDir?: string;
  /** The tool version to record. */
  version?: string;
  /** The real-database check, when it ran: broken queries and a migration that fails to apply become results too. */
  compatibility?: CompatibilityResult;
}

/** A SARIF 2.1.0 log as a plain object (serialize with `JSON.stringify`). */
export type SarifLog = { version: '2.1.0'; $schema: string; runs: unknown[] };

/**
 * The check as a SARIF 2.1.0 log, the format GitHub code scanning, GitLab
 * and Azure DevOps read to annotate a pull request: every rule with its help
 * text (why and the safe way), every finding with file, line and column;
 * ignored findings carry an in-source suppression with their reason.
 */
export function toSarif(result: CheckResult, options: SarifOptions = {}): SarifLog {
  const baseDir = options.baseDir ?? process.cwd();
  const index = new Map(RULES.map((rule, i) => [rule.id, i]));
  const results: Record<string, unknown>[] = result.files.flatMap((file) =>
    file.findings.map((finding) => ({
      ruleId: finding.rule,
      ruleIndex: index.get(finding.rule) ?? -1,
      level: finding.severity,
      message: { text: `${finding.message} Safe way: ${finding.alternative}` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: toUri(isAbsolute(finding.file) ? relative(baseDir, finding.file) : finding.file), uriBaseId: '%SRCROOT%' },
            region: { startLine: finding.line, startColumn: finding.column, snippet: { text: finding.excerpt } },
          },
        },
      ],
      ...(finding.ignored ? { suppressions: [{ kind: 'inSource', justification: finding.ignored.reason }] } : {}),
    })),
  );
  const location = (file: string, line: number, column: number, snippet: string) => [
    {
      physicalLocation: {
        artifactLocation: { uri: toUri(isAbsolute(file) ? relative(baseDir, file) : file), uriBaseId: '%SRCROOT%' },
        region: { startLine: line, startColumn: column, snippet: { text: snippet } },
      },
    },
  ];
  const compatibility = options.compatibility;
  if (compatibility?.migrationError) {
    const e = compatibility.migrationError;
    results.push({ ruleId: 'migration-fails', ruleIndex: index.get('migration-fails') ?? -1, level: 'error', message: { text: `The migration fails to apply: ${e.message}` }, locations: location(e.file, e.line, e.column, '') });
  }
  for (const failure of compatibility?.broken ?? []) {
    const text = `A query of the running release fails after the migration: ${failure.message}${failure.code ? ` (SQLSTATE ${failure.code})` : ''}.`;
    results.push({
      ruleId: 'query-breaks',
      ruleIndex: index.get('query-breaks') ?? -1,
      level: 'error',
      message: { text },
      locations: location(failure.query.file ?? 'queries.sql', failure.query.line ?? 1, 1, failure.query.sql),
    });
  }
  return {
    version: '2.1.0',
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    runs: [
      {
        tool: {
          driver: {
            name: 'baton-migrations',
            ...(options.version ? { version: options.version } : {}),
            rules: RULES.map((rule) => ({
              id: rule.id,
              name: rule.id.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase()),
              shortDescription: { text: rule.title },
              fullDescription: { text: rule.why },
              help: { text: `${rule.why}\n\nSafe way: ${rule.alternative}`, markdown: `${rule.why}\n\n**Safe way:** ${rule.alternative}` },
              defaultConfiguration: { level: rule.severity },
            })),
          },
        },
        columnKind: 'utf16CodeUnits',
        originalUriBaseIds: { '%SRCROOT%': { uri: toUri(baseDir.endsWith(sep) ? baseDir : baseDir + sep, true) } },
        results,
      },
    ],
  };
}

function toUri(path: string, absolute = false): string {
  const slashed = path.split(sep).join('/');
  const encoded = slashed.split('/').map(encodeURIComponent).join('/');
  return absolute ? `file://${encoded.startsWith('/') ? '' : '/'}${encoded}` : encoded;
}

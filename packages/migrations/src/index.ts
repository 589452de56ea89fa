export { checkMigrations, createMigrationChecker, listMigrationFiles, type CheckMigrationsOptions, type MigrationChecker, type MigrationSource } from './checker.js';
export { resolveCheckOptions, type CheckOptions, type ResolvedCheckOptions } from './options.js';
export type { CheckResult, Classification, FileResult, Finding, Severity } from './finding.js';
export type { ColumnType, Rule, StatementContext } from './rule.js';
export { RULES, findRule } from './rules.js';
export { compareReleases } from './releases.js';
export { GRAMMAR_VERSION } from './internal/parse.js';

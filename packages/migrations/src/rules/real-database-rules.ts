import type { Rule } from '../rule.js';

// Outcomes of the real-database check (checkCompatibility), listed as rules so
// SARIF and JSON consumers see them with the same shape as the static findings.

/** A query of the running release that works before the migration and fails after it. */
export const queryBreaks: Rule = {
  id: 'query-breaks',
  severity: 'error',
  title: 'a query of the running release fails on the migrated schema',
  why: 'The real-database check ran the previous release\'s queries on a real PostgreSQL before and after the migration: this one worked before and fails after, so the release still serving would fail the same way during the deploy.',
  alternative: 'Change the migration into expand/contract steps so that every object the running release uses still exists with a compatible shape; remove it only in a contract migration once no release uses it.',
};

/** A migration statement that fails to apply on a real PostgreSQL. */
export const migrationFails: Rule = {
  id: 'migration-fails',
  severity: 'error',
  title: 'the migration fails to apply on a real PostgreSQL',
  why: 'The real-database check applied the schema before the migration and then the migration to a real PostgreSQL, and this statement failed: the deploy would stop here.',
  alternative: 'Fix the statement (PostgreSQL\'s message says why it failed) and run the check again.',
};

import type { Rule } from './rule.js';
import { addColumnNotNull } from './rules/add-column-not-null.js';
import { columnTypeChange } from './rules/column-type-change.js';
import { concurrentlyInTransaction } from './rules/concurrently-in-transaction.js';
import { constraintNotValid } from './rules/constraint-not-valid.js';
import { createIndexNonConcurrent } from './rules/create-index-non-concurrent.js';
import { dmlInMigration } from './rules/dml-in-migration.js';
import { dropColumn } from './rules/drop-column.js';
import { dropIndexNonConcurrent } from './rules/drop-index-non-concurrent.js';
import { dropTable } from './rules/drop-table.js';
import { enumAddValueInTransaction } from './rules/enum-add-value-in-transaction.js';
import { enumValueRename } from './rules/enum-value-rename.js';
import {
  contractTooEarly,
  contractUndeclared,
  contractUnverified,
  ignoreWithoutReason,
  invalidDirective,
  mixedExpandContract,
  unusedIgnore,
} from './rules/file-rules.js';
import { generatedColumn } from './rules/generated-column.js';
import { identityColumn } from './rules/identity-column.js';
import { lockTimeout } from './rules/lock-timeout.js';
import { migrationFails, queryBreaks } from './rules/real-database-rules.js';
import { renameColumn } from './rules/rename-column.js';
import { renameTable } from './rules/rename-table.js';
import { serialColumn } from './rules/serial-column.js';
import { setNotNull } from './rules/set-not-null.js';
import { statementTimeout } from './rules/statement-timeout.js';
import { uniqueWithoutIndex } from './rules/unique-without-index.js';
import { validateInSameTransaction } from './rules/validate-in-same-transaction.js';
import { volatileDefault } from './rules/volatile-default.js';

/**
 * Every rule the checker applies, statement rules first, then the rules
 * about whole files, then the outcomes of the real-database check. Ids are stable: ignore comments, `disabledRules`, JSON
 * and SARIF output use them.
 */
export const RULES: readonly Rule[] = [
  dropColumn,
  dropTable,
  renameColumn,
  renameTable,
  addColumnNotNull,
  setNotNull,
  columnTypeChange,
  volatileDefault,
  generatedColumn,
  identityColumn,
  serialColumn,
  createIndexNonConcurrent,
  concurrentlyInTransaction,
  dropIndexNonConcurrent,
  constraintNotValid,
  validateInSameTransaction,
  uniqueWithoutIndex,
  enumValueRename,
  enumAddValueInTransaction,
  dmlInMigration,
  lockTimeout,
  statementTimeout,
  mixedExpandContract,
  contractUndeclared,
  contractTooEarly,
  contractUnverified,
  ignoreWithoutReason,
  invalidDirective,
  unusedIgnore,
  queryBreaks,
  migrationFails,
];

/** The rule with this id, if there is one. */
export function findRule(id: string): Rule | undefined {
  return RULES.find((rule) => rule.id === id);
}

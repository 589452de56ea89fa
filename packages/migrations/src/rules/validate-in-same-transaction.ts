import { alterTableCommands } from '../internal/alter-table.js';
import type { Rule } from '../rule.js';

/** `ADD CONSTRAINT ... NOT VALID` then `VALIDATE CONSTRAINT` in one transaction. */
export const validateInSameTransaction: Rule = {
  id: 'validate-in-same-transaction',
  severity: 'error',
  title: 'NOT VALID and VALIDATE in one transaction',
  why: 'The lock taken by ADD CONSTRAINT (ACCESS EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE for a foreign key) is held until the transaction ends, so validating in the same transaction scans the table under it: NOT VALID gains nothing.',
  alternative: 'COMMIT between the two, or move "VALIDATE CONSTRAINT" to the next migration file.',
  check(statement) {
    if (statement.transaction === undefined) return;
    for (const command of alterTableCommands(statement)) {
      if (command.subtype !== 'AT_ValidateConstraint' || command.name === undefined) continue;
      if (statement.notValidAddedIn(command.table, command.name) === statement.transaction) {
        statement.report(`Validates "${command.name}" on "${command.table}" in the transaction that added it NOT VALID: the table is scanned under the lock taken by the ADD.`);
      }
    }
  },
};

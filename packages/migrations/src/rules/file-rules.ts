import type { Rule } from '../rule.js';

// Rules about a whole file rather than one statement: the checker raises them
// itself (classification, contract timing, ignore comments), so they have no check().

/** A file that both expands and contracts. */
export const mixedExpandContract: Rule = {
  id: 'mixed-expand-contract',
  severity: 'error',
  title: 'expand and contract in one file',
  why: 'An expand step must be deployed before the release that uses it, a contract step only after every release that used the removed objects is gone: one file cannot be both, it always runs at the wrong moment for one half.',
  alternative: 'Split the file: the additions in one migration (deployed with or before the new release), the removals in a later one headed "-- baton:contract unused-since=N".',
};

/** A removal in a file that does not declare itself a contract migration. */
export const contractUndeclared: Rule = {
  id: 'contract-undeclared',
  severity: 'error',
  title: 'removal outside a declared contract migration',
  why: 'A removal (DROP INDEX, DROP CONSTRAINT, DROP VIEW, DROP DEFAULT...) is safe only once no running release relies on what it removes; without a declaration the checker cannot tell when that is.',
  alternative: 'Head the file with "-- baton:contract unused-since=N", N being the first release that no longer uses what the file removes.',
};

/** A contract migration while a release that still uses the removed objects is deployed. */
export const contractTooEarly: Rule = {
  id: 'contract-too-early',
  severity: 'error',
  title: 'contract migration while an older release runs',
  why: 'The file removes objects that releases before its "unused-since" release still use, and such a release is deployed: its queries would fail.',
  alternative: 'Wait until every instance runs the "unused-since" release or later (finish the rollout first), then apply the contract migration.',
};

/** A contract migration checked without the list of deployed releases. */
export const contractUnverified: Rule = {
  id: 'contract-unverified',
  severity: 'warning',
  title: 'contract timing not checked',
  why: 'Whether a contract step comes too early depends on the releases deployed now, which the check was not given.',
  alternative: 'Pass the deployed releases (deployedReleases, or --deployed v6,v7) so the check can refuse a contract step that comes too early.',
};

/** `-- baton:ignore` without a reason. */
export const ignoreWithoutReason: Rule = {
  id: 'ignore-without-reason',
  severity: 'error',
  title: 'ignore comment without a reason',
  why: 'An ignored finding is a decision someone must be able to review later: the reason is the review.',
  alternative: 'Write "-- baton:ignore <rule-id> reason: <why it is safe here>" on the line before the statement.',
};

/** A `-- baton:` comment that does not parse or names an unknown rule. */
export const invalidDirective: Rule = {
  id: 'invalid-directive',
  severity: 'error',
  title: 'malformed baton: comment',
  why: 'A directive that is not understood would silently change nothing; a typo in a rule id would leave the finding it meant to ignore in place, or worse, hide that it did.',
  alternative: 'Use "-- baton:ignore <rule-id> reason: <text>", "-- baton:contract unused-since=<release>" or "-- baton:no-transaction", with rule ids from the README.',
};

/** A `-- baton:ignore` that matched no finding. */
export const unusedIgnore: Rule = {
  id: 'unused-ignore',
  severity: 'warning',
  title: 'ignore comment that ignores nothing',
  why: 'An ignore that matches no finding is stale or misplaced (it must sit right before the statement); left there it may later hide a real problem.',
  alternative: 'Remove it, or move it to the comment lines directly before the statement it is about.',
};

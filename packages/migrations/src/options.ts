import { BatonError } from '@baton/lifecycle';
import { isOrderable } from './releases.js';
import { RULES } from './rules.js';

/** Options of the static check (see {@link checkMigrations} and {@link createMigrationChecker}). */
export interface CheckOptions {
  /** The PostgreSQL major version the database runs (10–18); rules differ by version. Default 17. */
  targetVersion?: number;
  /**
   * The releases running now (every instance's release). A contract migration
   * declared `unused-since=N` is refused while any of them is older than N.
   */
  deployedReleases?: readonly string[];
  /** Release names oldest first, when they are not versions (`v7`, `1.4.2`) that order themselves. */
  releaseOrder?: readonly string[];
  /**
   * How the migration tool runs a file: `'per-file'` (default; node-pg-migrate,
   * Flyway, dbmate and most others wrap each file in one transaction) or
   * `'none'` (each statement commits by itself). A file headed
   * `-- baton:no-transaction` runs without one either way; explicit
   * BEGIN / COMMIT in a file are followed.
   */
  transaction?: 'per-file' | 'none';
  /** Rule ids not to apply, e.g. `['lock-timeout']` when the migration runner sets lock_timeout itself. */
  disabledRules?: readonly string[];
  /**
   * The first file to report on (its name in the directory). Earlier files are
   * still read, in order, for what they created (column types, validated
   * checks), but they are deployed already and are not reported.
   */
  from?: string;
}

/** {@link CheckOptions} with every default filled in. */
export interface ResolvedCheckOptions {
  targetVersion: number;
  deployedReleases: readonly string[] | undefined;
  releaseOrder: readonly string[] | undefined;
  transaction: 'per-file' | 'none';
  disabledRules: ReadonlySet<string>;
  from: string | undefined;
}

/** The one place options are defaulted and validated; a bad option throws here, before any file is read. */
export function resolveCheckOptions(options: CheckOptions = {}): ResolvedCheckOptions {
  const targetVersion = options.targetVersion ?? 17;
  if (!Number.isInteger(targetVersion) || targetVersion < 10 || targetVersion > 18) {
    invalid(`targetVersion must be a PostgreSQL major version from 10 to 18, got ${String(options.targetVersion)}.`);
  }
  const transaction = options.transaction ?? 'per-file';
  if (transaction !== 'per-file' && transaction !== 'none') invalid(`transaction must be 'per-file' or 'none', got ${JSON.stringify(transaction)}.`);
  const releaseOrder = options.releaseOrder;
  if (releaseOrder !== undefined && (!Array.isArray(releaseOrder) || releaseOrder.some((r) => typeof r !== 'string' || r === ''))) {
    invalid('releaseOrder must be a list of release names, oldest first.');
  }
  const deployed = options.deployedReleases;
  if (deployed !== undefined) {
    if (!Array.isArray(deployed) || deployed.some((r) => typeof r !== 'string' || r === '')) invalid('deployedReleases must be a list of release names.');
    for (const release of deployed) {
      if (!isOrderable(release, releaseOrder)) {
        invalid(
          releaseOrder
            ? `Deployed release "${release}" is not in releaseOrder (${releaseOrder.join(', ')}).`
            : `Deployed release "${release}" is not a version (v7, 1.4.2); name releases that way or pass releaseOrder, the releases oldest first.`,
        );
      }
    }
  }
  const known = new Set(RULES.map((rule) => rule.id));
  for (const id of options.disabledRules ?? []) {
    if (!known.has(id)) invalid(`disabledRules: unknown rule "${id}"; known rules: ${[...known].join(', ')}.`);
  }
  if (options.from !== undefined && (typeof options.from !== 'string' || options.from === '')) invalid('from must be a file name of the migrations directory.');
  return {
    targetVersion,
    deployedReleases: deployed,
    releaseOrder,
    transaction,
    disabledRules: new Set(options.disabledRules ?? []),
    from: options.from,
  };
}

function invalid(message: string): never {
  throw new BatonError('BATON_ERR_INVALID_OPTION', message);
}

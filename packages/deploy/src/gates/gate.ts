import type { Artifact } from '../model.js';

/** How one gate came out: `skipped` says why in its summary (not configured for the environment, nothing to check). */
export type GateStatus = 'pass' | 'fail' | 'skipped';

/**
 * One gate's answer, with what it was based on. The promotion report, the
 * deploy's report and the environment's history keep it as it is.
 */
export interface GateResult {
  /** The gate: `previous-environment`, `contracts`, `migrations`, `soak`, `approval`. */
  gate: string;
  status: GateStatus;
  /** One sentence for people: the verdict and its main reason. */
  summary: string;
  /** What the verdict rests on, one line each: interactions verified, findings, times, who approved. */
  evidence: string[];
  /** The same, for machines (JSON-able). */
  data?: Record<string, unknown>;
}

/** What a gate is asked about: one release, on its way into one environment. */
export interface GateContext {
  service: string;
  /** The environment the release is to be deployed to. */
  environment: string;
  /** The environment it comes from in the pipeline; undefined for the pipeline's first (or a config without environments). */
  previousEnvironment?: string;
  /** The release: its version and the artifact it runs (undefined: it runs in place, unpinned). */
  release: { version: string; artifact?: Artifact | undefined; source?: { revision: string; dirty?: boolean } | undefined };
  /**
   * Every release running in the environment now (the stable one, and any
   * other whose instances still run), oldest first — what a contract
   * migration must wait for.
   */
  deployedReleases: string[];
  /** Every recorded release, oldest first (`baton releases`): the order of releases whose names are not versions. */
  releaseOrder: string[];
  /** The config's directory: relative paths in gate settings start there. */
  cwd: string;
  /**
   * The release's own files, when its artifact is a directory here (a local
   * bundle in the store): a gate reads what the release ships from it (its
   * migrations) before the config's directory, which may hold a later build.
   */
  releaseDir?: string;
  /** Where secrets named in gate settings (a broker token) are read; the process's environment by default. */
  env: Readonly<Record<string, string | undefined>>;
  now: () => number;
  signal?: AbortSignal;
}

/** A gate that could not run at all (its package missing, a file unreadable) fails, saying so: an unchecked release does not pass. */
export function gateError(gate: string, summary: string, evidence: string[] = []): GateResult {
  return { gate, status: 'fail', summary, evidence };
}

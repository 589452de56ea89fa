/**
 * The orchestrator's four interfaces and the records they pass around.
 * Routers and platforms are packages of their own (see providers.ts);
 * strategies and analysis live here. The orchestrator talks only to these shapes.
 *
 * Everything here is plain JSON-able data, because the journal persists it and
 * an orchestrator started again must rebuild its view from the journal alone.
 */

import type { RouterShadow } from './shadow/shadow-step.js';

/**
 * What to run for one release: its artifact (a container image, a bundle of
 * the service directory, or a command run in place), its environment and a
 * version label.
 */
export interface ReleaseSpec {
  /** The version label, e.g. `v2`: instances get it as `RELEASE` and their metrics carry it as `release`. */
  version: string;
  /**
   * The executable, e.g. `node` (looked up on PATH) or an absolute path.
   * Required by the local platform; with `image`, it overrides the image's
   * entrypoint (and `args` its command).
   */
  command?: string;
  args?: readonly string[];
  /** A container image, e.g. `orders:v2` (platforms that run containers, `@baton/platform-docker`). Pinned to its digest when the release is created. */
  image?: string;
  /**
   * The local platform runs the release from a content-addressed copy of
   * these files instead of in place: what is in the release is explicit, and
   * a later build in the service directory cannot change what a rollback runs.
   */
  bundle?: BundleSpec;
  /**
   * The immutable artifact this release runs, set by `baton release create`
   * (or the first `baton deploy` of the version) and journaled with it: a
   * resume or a rollback runs exactly this. Never written by hand.
   */
  artifact?: Artifact;
  /** Added to the orchestrator's environment; `PORT`, `HOST`, `RELEASE` and `BATON_INSTANCE` are set by the platform. */
  env?: Readonly<Record<string, string>>;
  /**
   * Names of environment variables (of `env`, or inherited from the
   * orchestrator's environment) whose values are secrets although their
   * names do not say so (see `isSecretEnvName`): Baton scrubs them from
   * events, reports, status and the errors it writes, like `DB_PASSWORD`.
   */
  secretEnv?: readonly string[];
  cwd?: string;
}

/** The files of a local release bundle, relative to `root`. */
export interface BundleSpec {
  /** The service directory; default the release's `cwd`, else the config's directory. */
  root?: string;
  /**
   * Files and directories to copy, relative to `root`: built output,
   * `package.json`, the lockfile and the production `node_modules`, e.g.
   * `['dist', 'package.json', 'pnpm-lock.yaml', 'node_modules']`. Symbolic
   * links are copied as the files they point to, so the bundle holds
   * everything it runs.
   */
  include: readonly string[];
}

/**
 * A release's artifact, identified by the digest of its content: the same
 * digest is the same bytes, wherever and whenever it runs.
 */
export interface Artifact {
  /** `image` (a container image) or `bundle` (a local release bundle), or a third party platform's kind of artifact. */
  kind: 'image' | 'bundle' | (string & {});
  /** `sha256:<64 hex>`: an image's id (the digest of its config), or the digest of a bundle's manifest. */
  digest: string;
  /** What the user named: the image as written (`orders:v2`), or the bundle's root directory. */
  source: string;
  /** Where the platform finds it: the image pinned by digest (`orders@sha256:…`, or its id), or the bundle's directory in the store. */
  location: string;
  /** Bytes, when known (the image's size, the bundle's files). */
  sizeBytes?: number;
}

/** Probe and metrics paths on an instance; the defaults are Baton's. */
export interface InstancePaths {
  /** Default `/readyz`. */
  readiness: string;
  /** Default `/livez`. */
  liveness: string;
  /** Default `/metrics`. */
  metrics: string;
}

export const DEFAULT_INSTANCE_PATHS: InstancePaths = { readiness: '/readyz', liveness: '/livez', metrics: '/metrics' };

/** One running instance as the platform reports it, and as the journal stores it. */
export interface InstanceRecord {
  /** Unique within a service, stable for the instance's life, e.g. `v2-3`. Also the router's backend name. */
  id: string;
  /** The release's version label. */
  release: string;
  host: string;
  port: number;
  /** `http://host:port`, no trailing slash. */
  url: string;
  /** The OS process id (local platform), so a restarted orchestrator can find it again. */
  pid?: number;
  /** The container and the engine it runs on (container platforms), so a restarted orchestrator can find it again. */
  container?: { id: string; engine: string };
  /** Where the instance's stdout and stderr go, when the platform keeps them. */
  logFile?: string;
  /** When its start began (the spawn; the request for its container): readiness times (`readyMs`) and the ready timeout count from here. */
  startedAtMs: number;
  /**
   * Set by the orchestrator on an instance of the stable release started
   * beside a canary, at the same time and with the same share of traffic, as
   * the baseline the canary is judged against (a fresh process, not one warm
   * from hours of traffic). Absent on every other instance.
   */
  role?: 'baseline';
}

/** How an instance ended. */
export interface InstanceExit {
  code: number | null;
  signal: string | null;
  atMs: number;
  /**
   * Set when the platform did not see the instance end but lost sight of it:
   * why, naming where it ran (e.g. `engine b (unix:///…) has not answered
   * for 10 s`). The instance may still run there; the orchestrator replaces
   * it and a later stop or `instances()` finds it again once it answers.
   */
  lost?: string;
}

/**
 * Where instances run and how they start and stop; one package per
 * implementation (`@baton/platform-local`: processes on this machine), each
 * held to `platformConformance` of `@baton/testing`.
 */
export interface Platform {
  /**
   * Starts one instance of `release` and resolves once it listens (its port is
   * known) — not once it is ready: readiness is the orchestrator's to poll.
   * Rejects with `BATON_ERR_PLATFORM` when it exits or fails to listen in time,
   * with the tail of its output in the message.
   */
  start(release: ReleaseSpec, options: { id: string; signal?: AbortSignal }): Promise<InstanceRecord>;
  /**
   * Asks the instance to stop (SIGTERM), waits up to `deadlineMs` for it to
   * exit, then kills it (SIGKILL). Resolves with how it ended; an instance
   * already gone resolves at once. Rejects (`BATON_ERR_PLATFORM`) when it
   * cannot tell the instance is gone (it survived SIGKILL, a signal was
   * refused): the orchestrator journals that as `instance-stop-failed` and
   * keeps the instance in its state, never ignores it.
   */
  stop(instance: InstanceRecord, options: { deadlineMs: number }): Promise<InstanceExit>;
  /**
   * True while the instance runs (works for instances started by an earlier
   * orchestrator). A platform that must ask a remote engine returns a
   * promise; one that cannot reach where the instance runs says false (the
   * orchestrator then replaces it).
   */
  isRunning(instance: InstanceRecord): boolean | Promise<boolean>;
  /** Calls `listener` once when an instance exits on its own or is stopped; returns an unsubscribe. */
  onExit(instance: InstanceRecord, listener: (exit: InstanceExit) => void): () => void;
  /**
   * Every instance the platform knows to be running, journaled or not: an
   * orchestrator that died between starting an instance and journaling it
   * finds the orphan here on restart.
   */
  instances?(): Promise<InstanceRecord[]>;
  /**
   * Pins `release` to its immutable artifact (resolves an image's tag to its
   * digest on every engine, copies a bundle into the store), so that every
   * instance of the release, now and in a later rollback, runs the same
   * bytes. Undefined result: the release runs in place, unpinned (a local
   * release without `bundle`). Rejects with `BATON_ERR_PLATFORM` when the
   * artifact cannot be found or differs between the platform's hosts.
   */
  artifact?(release: ReleaseSpec): Promise<Artifact | undefined>;
  /** Lets go of what the platform holds open (engine connections, event streams); instances keep running. */
  close?(): Promise<void>;
}

/** A backend's traffic state in the router. */
export type BackendState =
  /** Known to the router, gets no traffic (just added, or taken out). */
  | 'maint'
  /** Gets new requests in proportion to its weight. */
  | 'ready'
  /** Gets no new requests; requests and connections already on it finish. */
  | 'drain';

/** A backend as the router sees it now. */
export interface BackendStatus {
  /** The instance id. */
  id: string;
  release: string;
  host: string;
  port: number;
  state: BackendState;
  /** Relative weight among `ready` backends, 0–256 (HAProxy's range). */
  weight: number;
  /** Requests (or sessions) the router has on this backend right now. */
  inFlight: number;
  /** Requests the router has sent to this backend since it was added. */
  requestsTotal: number;
  /**
   * Whether the router can reach the backend: `down` when its last attempt
   * (a request or the router's own check) could not connect — the process
   * died or never listened; `up` once it answered; `unknown` before either.
   */
  health: BackendHealth;
}

/** See {@link BackendStatus.health}. */
export type BackendHealth = 'up' | 'down' | 'unknown';

/**
 * How traffic is shifted; one package per implementation (`@baton/router-builtin`,
 * `@baton/router-haproxy`, `@baton/router-nginx`), each held to
 * `routerConformance` of `@baton/testing`. A router runs as its own process,
 * so an orchestrator that dies mid-deploy does not take traffic down with it;
 * a `Router` object is the orchestrator's connection to it.
 */
export interface Router {
  /** The provider's kind, e.g. `haproxy`. */
  readonly kind: string;
  /** Where clients send requests, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Adds a backend in state `maint` (no traffic). Adding an id that exists with the same address is a no-op. */
  add(backend: { id: string; release: string; host: string; port: number }): Promise<void>;
  /** Sets state and weight of backends, in one batch where the router allows it. Unknown ids reject with `BATON_ERR_ROUTER`. */
  set(changes: readonly { id: string; state?: BackendState; weight?: number }[]): Promise<void>;
  /** Removes a backend; only allowed once it is in `maint` or `drain` with nothing in flight. Removing an unknown id is a no-op. */
  remove(id: string): Promise<void>;
  /** Every backend with its state, weight and in-flight count. */
  backends(): Promise<BackendStatus[]>;
  /** Closes this connection to the router; the router itself keeps running. */
  close(): Promise<void>;
  /** Shadow steps, on routers that can mirror requests and compare answers (the built-in one); without it a shadow step is refused. */
  readonly shadow?: RouterShadow;
  /**
   * Keep-alive with clients, on by default. Off, every answer carries
   * `Connection: close`, so a keep-alive client opens a new connection for
   * its next request — and resolves the service's name again: how a DNS
   * switch moves clients off the stack that lost the record. The setting
   * outlives a restart of the router. Routers without it keep connections
   * until the clients close them.
   */
  setKeepAlive?(enabled: boolean): Promise<void>;
}

/** Thresholds release B must meet against release A. */
export interface AnalysisThresholds {
  /** B's error rate may exceed A's by at most this, absolute (0.01 = one point); default 0.01. */
  maxErrorRateIncrease: number;
  /** And B's error rate may never exceed this, absolute; default 0.05. */
  maxErrorRate: number;
  /** B's p99 latency may be at most this many times A's; default 1.5. */
  maxLatencyRatio: number;
  /**
   * ...and fails the latency check only when it is also this many milliseconds
   * above A's; default 50. A fresh instance's first requests (cold code paths,
   * empty pools) on a busy machine make a p99 of 30 ms against 5 ms: six
   * times, and nothing a user notices.
   */
  minLatencyIncreaseMs: number;
  /** Which latency quantile is compared; default 0.99. */
  latencyQuantile: number;
  /** Fewer requests to B than this in the window is inconclusive; default 50. */
  minRequests: number;
  /**
   * How sure the statistical judge must be before it calls a difference real
   * (0.95: a healthy canary fails one window in twenty at most, whatever the
   * number of routes); the confidence of the intervals it reports. Default 0.95.
   */
  confidence: number;
  /**
   * A route is judged on its own with at least this many requests on each
   * side; routes with fewer are pooled and judged together. Default 50.
   */
  minRouteRequests: number;
}

/** What one analysis said. */
export interface Verdict {
  outcome: 'pass' | 'fail' | 'inconclusive';
  /** One sentence per finding, for people and the report. */
  reasons: string[];
  /** The figures the verdict rests on, per release (the whole release, every route together). */
  releases: Record<string, { requests: number; errors: number; errorRate: number; requestRate: number; latency: number | undefined }>;
  atMs: number;
  /** How the candidate was judged: `statistics` (per route, with tests) or `thresholds` (whole release against fixed limits). */
  method?: 'statistics' | 'thresholds';
  /**
   * What the candidate was compared with: `fresh`, instances of the stable
   * release started beside the canary; `warm`, the instances that were
   * already serving; `before`, what the stable release's instances served
   * in an earlier window (blue before a blue/green switch); `none`, nothing
   * (the first deploy).
   */
  comparedWith?: { kind: 'fresh' | 'warm' | 'before' | 'none'; release: string; instances: string[] };
  /** Per route (the statistical judge): each route's figures, tests and finding. */
  routes?: RouteVerdict[];
  /** The quantile the `latency` figures are (`thresholds.latencyQuantile`, 0.99 = p99). */
  latencyQuantile?: number;
}

/** The figures of one side of a route comparison. */
export interface RouteFigures {
  requests: number;
  errors: number;
  errorRate: number;
  /** The latency quantile compared (`thresholds.latencyQuantile`), seconds; undefined without timed requests. */
  latency: number | undefined;
  latencyObservations: number;
}

/** One test of one route: what was compared, how sure, and whether it failed. */
export interface RouteTest {
  /** `two-proportion z`, `fisher exact` or `mann-whitney u`. */
  method: string;
  /** One-sided p-value (the candidate worse), before and after the correction for testing many routes (Holm). */
  pValue: number;
  adjustedPValue: number;
  /** The effect measured: error-rate points (0.01 = one point), or the latency ratio candidate ÷ baseline at the compared quantile. */
  effect: number;
  /** How large the effect may be, at the analysis' confidence. */
  effectUpper: number;
  /** The practical-significance margin the effect is held to (from the thresholds). */
  margin: number;
  /**
   * Latency: the quantile the effect was measured at — the median or p90,
   * whichever is further over its limit (a slower release shifts the centre
   * of the distribution; a busy machine's stalls reach only the tail).
   */
  quantile?: number;
  /** Latency: the candidate's and the baseline's latency at that quantile, in seconds. */
  candidateSeconds?: number;
  baselineSeconds?: number;
  failed: boolean;
}

/** The statistical judge's finding on one route (or on the routes pooled for having too few requests each). */
export interface RouteVerdict {
  /** The route template; `(other routes)` for the pool. */
  route: string;
  /** For the pool: the routes in it. */
  pooled?: string[];
  outcome: 'pass' | 'fail' | 'not-judged';
  candidate: RouteFigures;
  baseline: RouteFigures;
  errors?: RouteTest;
  latency?: RouteTest;
  /** One sentence for people: the finding with its figures and p-values. */
  summary: string;
}

/**
 * Compares release B with release A from the instances' /metrics between
 * `begin()` and `judge()` (`analysis/metrics-analysis.ts`).
 */
export interface Analysis {
  /** Scrapes every instance now: the start of a window. */
  begin(instances: readonly InstanceRecord[]): Promise<AnalysisWindow>;
  /**
   * Scrapes again and judges `candidate` against `baseline` over the window.
   * With `baselineWindow` (a window closed by {@link Analysis.end}), the
   * baseline is what that window's instances served over it instead.
   */
  judge(window: AnalysisWindow, instances: readonly InstanceRecord[], releases: { baseline: string; candidate: string; baselineWindow?: AnalysisWindow }): Promise<Verdict>;
  /**
   * Scrapes the instances a window began with again and closes it without
   * judging, to be the baseline of a later `judge`: blue/green's blue, over
   * the time before the switch, when it still served everything.
   */
  end?(window: AnalysisWindow): Promise<AnalysisWindow>;
}

/** Opaque to callers: the scrapes a window started with. */
export interface AnalysisWindow {
  readonly startedAtMs: number;
}

/** One line of the deploy's event log: every decision and every step, in order. */
export interface DeployEvent {
  atMs: number;
  /** e.g. `instance-started`, `instance-ready`, `weights`, `analysis`, `paused`, `rollback`, `done`. */
  type: string;
  /** One sentence for people. */
  message: string;
  data?: Record<string, unknown>;
}

/**
 * Where a deploy keeps its state so an orchestrator killed mid-deploy can be
 * started again (`journal/file-journal.ts`). `State` is the orchestrator's
 * own JSON-able record; the journal only stores it.
 */
export interface Journal<State> {
  /** The last state written, or undefined when no deploy was ever journaled here. */
  read(): Promise<State | undefined>;
  /** Replaces the state atomically: a crash leaves the old state or the new, never a torn file. */
  write(state: State): Promise<void>;
  /** Appends an event durably (one JSON line). */
  append(event: DeployEvent): Promise<void>;
  /** Every event appended so far, in order. */
  events(): Promise<DeployEvent[]>;
  /** Takes the journal's lock; rejects with `BATON_ERR_JOURNAL` naming the holder's pid when a live orchestrator holds it. A dead holder's lock is taken over. */
  lock(): Promise<{ release(): Promise<void> }>;
}

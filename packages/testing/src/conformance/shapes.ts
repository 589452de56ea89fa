// The shapes the conformance suites drive, described structurally: @baton/testing
// depends on none of Baton's packages (@baton/deploy devDepends on it), and
// @baton/deploy's Router, Platform and providers fit these as they are.

/** A backend's traffic state in the router (`BackendState` of @baton/deploy). */
export type ConformanceBackendState = 'maint' | 'ready' | 'drain';

/** A backend as the router reports it (`BackendStatus` of @baton/deploy). */
export interface ConformanceBackendStatus {
  id: string;
  release: string;
  host: string;
  port: number;
  state: ConformanceBackendState;
  weight: number;
  inFlight: number;
  requestsTotal: number;
  health: 'up' | 'down' | 'unknown';
}

/** The orchestrator's connection to a running router (`Router` of @baton/deploy). */
export interface ConformanceRouter {
  readonly kind: string;
  readonly url: string;
  add(backend: { id: string; release: string; host: string; port: number }): Promise<void>;
  set(changes: readonly { id: string; state?: ConformanceBackendState; weight?: number }[]): Promise<void>;
  remove(id: string): Promise<void>;
  backends(): Promise<ConformanceBackendStatus[]>;
  close(): Promise<void>;
  /** Keep-alive with clients, on routers that can switch it (`Router.setKeepAlive`): off, every answer carries `Connection: close`; the setting outlives a restart. */
  setKeepAlive?(enabled: boolean): Promise<void>;
}

/** What a router is started with (`RouterStartSettings` of @baton/deploy). */
export interface ConformanceRouterSettings {
  dir: string;
  port?: number;
  /** The address the router listens on; undefined: `127.0.0.1`. */
  host?: string;
  readinessPath: string;
  limits: { maxConnections: number; headersTimeoutMs: number; bodyTimeoutMs: number; keepAliveTimeoutMs: number; minBodyBytesPerSecond: number; bodyRateWindowMs: number };
  trustForwarded: boolean;
  expose: { metrics: boolean; probeDetails: boolean; metricsPaths: readonly string[]; probePaths: readonly string[] };
}

/** The part of a router package's `routerProvider` (`RouterProvider` of @baton/deploy) the suite uses. */
export interface ConformanceRouterProvider {
  readonly kind: string;
  /** Undefined when the router can run here; otherwise why not (the suite then skips, saying so in one line). */
  unavailable?(): string | undefined;
  start(settings: ConformanceRouterSettings): Promise<ConformanceRouter>;
  connect(dir: string): Promise<ConformanceRouter>;
  stop(dir: string): Promise<void>;
}

/** A router started for one test, in its own directory. */
export interface RouterUnderTest {
  router: ConformanceRouter;
  /** A new connection to the same running router, as a new orchestrator makes. */
  connectAgain(): Promise<ConformanceRouter>;
  /** Stops the router process (the suite closed its connections first). */
  stop(): Promise<void>;
}

/** How an instance to run is described (`ReleaseSpec` of @baton/deploy). */
export interface ConformanceRelease {
  version: string;
  command: string;
  /** A container image, for platforms that run them (see `IsolatedInstances`). */
  image?: string;
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  cwd?: string;
}

/** A running instance (`InstanceRecord` of @baton/deploy). */
export interface ConformanceInstance {
  id: string;
  release: string;
  host: string;
  port: number;
  url: string;
  pid?: number;
  logFile?: string;
  /** The container and its engine, for container platforms. */
  container?: { id: string; engine: string };
  startedAtMs: number;
}

/** How an instance ended (`InstanceExit` of @baton/deploy). */
export interface ConformanceExit {
  code: number | null;
  signal: string | null;
  atMs: number;
}

/** Where instances run (`Platform` of @baton/deploy). */
export interface ConformancePlatform {
  start(release: ConformanceRelease, options: { id: string; signal?: AbortSignal }): Promise<ConformanceInstance>;
  stop(instance: ConformanceInstance, options: { deadlineMs: number }): Promise<ConformanceExit>;
  isRunning(instance: ConformanceInstance): boolean | Promise<boolean>;
  onExit(instance: ConformanceInstance, listener: (exit: ConformanceExit) => void): () => void;
  instances?(): Promise<ConformanceInstance[]>;
}

/** What a platform is created with (`PlatformSettings` of @baton/deploy). */
export interface ConformancePlatformSettings {
  service: string;
  dir: string;
  artifactsDir: string;
  options: Readonly<Record<string, unknown>>;
  port: 'announce' | 'assign';
  listenTimeoutMs: number;
  routerDrainsFirst: boolean;
}

/** A platform package's `platformProvider` (`PlatformProvider` of @baton/deploy), as far as the suite uses it. */
export interface ConformancePlatformProvider {
  create(settings: ConformancePlatformSettings): ConformancePlatform;
}

/** Where a case's files are: the instance script's directory and the case's own (state and marker files). */
export interface ConformancePaths {
  scriptDir: string;
  caseDir: string;
}

/**
 * What a container platform adds to the suite. The suite's instances stay a
 * node script run as `node <script> <mode>`; a container platform runs it in
 * an image holding node (`release` adds the image, keeping `command` when
 * node sits at the same path there, or naming it), and bind-mounts the
 * script's and the case's directories at the same paths (`settings`), so
 * marker files work as for local processes.
 *
 * Pids an instance notes in its marker are in its own pid namespace (1 is
 * its init, not the machine's): the suite never signals them. It finds an
 * instance's processes by the marker path in their environment instead, and
 * `cleanUp` removes what a failed case left (containers by label).
 */
export interface IsolatedInstances {
  /** The release the platform gets for the suite's `release` (e.g. `{ ...release, image }`). */
  release(release: ConformanceRelease, paths: ConformancePaths): ConformanceRelease;
  /** Settings for a case's platform, over the suite's and `settings` (e.g. `options.mounts` of both paths). */
  settings?(paths: ConformancePaths): Partial<Omit<ConformancePlatformSettings, 'dir' | 'artifactsDir'>>;
  /** Removes every instance the suite's platforms started (after each case, also a failed one). */
  cleanUp(): Promise<void>;
}

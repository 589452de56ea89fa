import type { Platform, Router } from './model.js';

/**
 * What a router package gets to start its router, from the deploy config's
 * `router` section. Every router gets the same settings; one that cannot
 * honour a limit says so in its README (HAProxy has no body-rate limit).
 */
export interface RouterStartSettings {
  /** The router's own directory under the state directory: its state, config, sockets and logs. Private (0700). */
  dir: string;
  /** The traffic port; undefined: a free one, kept across restarts of this router. */
  port?: number;
  /** The IP address the router listens on; undefined: `127.0.0.1`. A DNS switch gives each stack's router its own (`127.0.0.2`, `127.0.0.3`). */
  host?: string;
  /** The instances' readiness path, for routers that also health-check. */
  readinessPath: string;
  limits: { maxConnections: number; headersTimeoutMs: number; bodyTimeoutMs: number; keepAliveTimeoutMs: number; minBodyBytesPerSecond: number; bodyRateWindowMs: number };
  trustForwarded: boolean;
  /** What public clients may reach besides the service: the router answers 404 to the rest. */
  expose: { metrics: boolean; probeDetails: boolean; metricsPaths: readonly string[]; probePaths: readonly string[] };
}

/**
 * A router package's entry point, exported as `routerProvider`: how Baton
 * starts, finds and stops that kind of router in a state directory. The CLI
 * and `runDeployCommand` load it by kind (`router: { kind: 'nginx' }` loads
 * `@baton/router-nginx`), so a service installs only the routers it uses.
 */
export interface RouterProvider {
  /** Matches `router.kind` in the config, e.g. `haproxy`. */
  readonly kind: string;
  /** For people, e.g. `HAProxy`. */
  readonly displayName: string;
  /** Files in the router's directory that are the user's records: `baton down` keeps them under `<stateDir>/logs`. */
  readonly logFiles: readonly string[];
  /** Undefined when this router can run here; otherwise why not and how to fix it (`haproxy` is not installed: apt-get install haproxy). */
  unavailable(): string | undefined;
  /** Starts the router process (detached: it outlives the orchestrator) and connects to it. */
  start(settings: RouterStartSettings): Promise<Router>;
  /** Connects to the router running in `dir`; rejects (`BATON_ERR_ROUTER`) when none answers there. */
  connect(dir: string): Promise<Router>;
  /** True while the router process of `dir` runs, whether or not it answers. */
  isRunning(dir: string): Promise<boolean>;
  /** The traffic URL the router of `dir` had, which its restart keeps; undefined when it never started. */
  recordedUrl(dir: string): Promise<string | undefined>;
  /** Stops the router of `dir` (draining nothing: the caller drained it first); no-op when none runs. */
  stop(dir: string): Promise<void>;
}

/** What a platform package gets to run a service's instances, from the deploy config's `platform` section. */
export interface PlatformSettings {
  /** The service's name (`service` in the config): container platforms label their instances with it. */
  service: string;
  /** The platform's own directory under the state directory (instance records, logs). Private (0700). */
  dir: string;
  /** Where release artifacts are kept (`<stateDir>/artifacts`; a local bundle store). */
  artifactsDir: string;
  /**
   * The platform section's own settings, past the common `kind`, `package`,
   * `port` and `listenTimeoutMs` (e.g. `hosts` of `@baton/platform-docker`),
   * as the user wrote them: the platform checks them in `create` and throws
   * `BATON_ERR_DEPLOY_CONFIG` naming each bad field.
   */
  options: Readonly<Record<string, unknown>>;
  /** How an instance's port is learnt; see `DeployConfig.platform`. */
  port: 'announce' | 'assign';
  listenTimeoutMs: number;
  /** The orchestrator takes every instance out of the router and drains it before it stops it (instances may skip their own propagation delay). */
  routerDrainsFirst: boolean;
}

/** A platform package's entry point, exported as `platformProvider` (see {@link RouterProvider}). */
export interface PlatformProvider {
  /** Matches `platform.kind` in the config, e.g. `local`. */
  readonly kind: string;
  readonly displayName: string;
  create(settings: PlatformSettings): Platform;
}

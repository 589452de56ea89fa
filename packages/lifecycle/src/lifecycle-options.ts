// The public shapes of a lifecycle: its options, its shutdown's report and
// progress, its events. Kept apart from the class so lifecycle.ts holds behaviour.
import type { IncomingMessage } from 'node:http';
import type { CheckDefinition } from './check-registry.js';
import type { Logger } from './logger.js';
import type { CloseLongLived } from './long-lived.js';
import type { ShutdownBudgetOptions } from './shutdown-budget.js';
import type { LifecycleState } from './states.js';
import type { ConnectionCounts } from './internal/connection-tracker.js';

/** Options of {@link createLifecycle}. */
export interface LifecycleOptions {
  /** Service name, reported as `serviceId` in health bodies. */
  service?: string;
  /**
   * Release (version) of this instance, reported as `releaseId`, and the
   * `release` label of `@baton/metrics` and toggle context once bound; lets an
   * orchestrator tell releases apart. Default: the `RELEASE` environment
   * variable when set and not empty (`baton deploy` and most platforms set it).
   */
  release?: string;
  /** Checks to register at once (more can be added with `lifecycle.checks.add`). */
  checks?: readonly CheckDefinition[];
  /** Startup (task plus startup checks) must finish within this. Default 60000 ms. */
  startupTimeoutMs?: number;
  /** How often startup checks are retried until they pass. Default 250 ms. */
  startupRetryMs?: number;
  /** The shutdown budget and how long-lived connections are asked to close. */
  shutdown?: ShutdownOptions;
  logger?: Logger;
  /** Milliseconds clock; injected so tests control time. Default `Date.now`. */
  now?: () => number;
}

/** Shutdown options: the phase budget plus connection handling. */
export interface ShutdownOptions extends ShutdownBudgetOptions {
  /** Asks a WebSocket / SSE connection to close when the drain starts. Default {@link defaultCloseLongLived}. */
  closeLongLived?: CloseLongLived;
  /**
   * Once a shutdown is forced (`force()`, a repeated SIGINT), each shutdown
   * hook still gets at most this long, so pools are closed and buffers
   * flushed; a second `force()` skips what is left. Default 1500 ms.
   */
  forcedHookTimeoutMs?: number;
}

/** A function run after the drain, e.g. closing a database pool. */
export interface ShutdownHook {
  name: string;
  run: (context: { signal: AbortSignal }) => void | Promise<void>;
  /** At most this long, and never past the hooks phase deadline. */
  timeoutMs?: number;
}

/** The ordered phases of a shutdown. */
export type ShutdownPhase = 'propagation' | 'stop-accepting' | 'drain' | 'hooks';

/** What one phase did. */
export interface PhaseReport {
  phase: ShutdownPhase;
  durationMs: number;
  /** The phase hit its deadline (or was cut by `force()`). */
  cut: boolean;
  /** Why the phase was skipped, when it was (the propagation delay: see {@link ShutdownRequest.skipPropagation}). */
  skipped?: string;
}

/** What a shutdown did, for logs, events and the exit code. */
export interface ShutdownReport {
  reason: string;
  /** Something had to be cut: the drain or a hook hit its deadline, or `force()` was called. */
  forced: boolean;
  forcedBy?: 'drain-timeout' | 'hook-timeout' | 'force';
  durationMs: number;
  phases: PhaseReport[];
  /** At the moment readiness failed. */
  atStart: ConnectionCounts;
  /**
   * App requests (probes excluded) that arrived after readiness failed: a load
   * balancer slower than the propagation delay shows here.
   */
  requestsAfterNotReady: number;
  /** Milliseconds after readiness failed that the last new request arrived. */
  lastRequestAfterNotReadyMs?: number;
  /** Connections destroyed with work in flight. */
  forcedCloses: number;
  hookFailures: { name: string; error: string; timedOut: boolean }[];
}

/** A live view of a shutdown under way, for metrics and logs (see {@link Lifecycle.shutdownProgress}). */
export interface ShutdownProgress {
  reason: string;
  /** The phase running now; `done` once the shutdown finished. */
  phase: ShutdownPhase | 'done';
  /** Milliseconds since readiness failed. */
  sinceNotReadyMs: number;
  /** App requests (probes excluded) that arrived after readiness failed, so far. */
  requestsAfterNotReady: number;
  /** Connections destroyed with work in flight (known once the drain phase ended). */
  forcedCloses: number;
}

/** The events a lifecycle emits. */
export interface LifecycleEvents {
  state: [{ from: LifecycleState; to: LifecycleState; reason?: string }];
  phase: [{ phase: ShutdownPhase; budgetMs: number }];
  'drain-progress': [ConnectionCounts];
  'hook-error': [{ name: string; error: unknown; timedOut: boolean }];
  stopped: [ShutdownReport];
}

/** Options of {@link Lifecycle.start}. */
export interface StartOptions {
  /** Work that must finish before the instance is ready (connect pools, warm caches). Aborted on shutdown. */
  task?: (context: { signal: AbortSignal }) => void | Promise<void>;
}

/** Options of {@link Lifecycle.probe}. */
export interface ProbeOptions {
  verbose?: boolean;
  /** Include checks' `output` and `observedValue`. Default false. */
  details?: boolean;
  /**
   * The HTTP request being answered, if any. Probe requests are left out of
   * the drain figures (`requestsAfterNotReady`), which are about app traffic:
   * a load balancer keeps health-checking an instance it no longer routes to.
   */
  request?: IncomingMessage;
}

/** Options of {@link Lifecycle.shutdown}. */
export interface ShutdownRequest {
  /**
   * Skip the propagation delay, e.g. when the server is already being closed
   * by its framework and no load balancer needs time to notice.
   */
  skipPropagation?: boolean;
  /**
   * Why the delay is skipped, for the shutdown's log line and the
   * propagation phase's `skipped` (implies `skipPropagation`). The signal
   * handlers give it when the platform's router drains first (see
   * `ROUTER_DRAINS_FIRST_ENV`).
   */
  skipPropagationReason?: string;
}

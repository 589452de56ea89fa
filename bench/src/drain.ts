import {
  findHaproxy,
  fixtureScript,
  runRollingRestart,
  type FixtureMode,
  type RollingRestartResult,
} from '@baton/e2e/harness';

/** One drain mode's figures. */
export interface DrainBenchRow {
  mode: string;
  restarts: number;
  /** Requests sent through HAProxy during the run. */
  sent: number;
  /** Failed requests (non-2xx, resets, errors, timeouts, lost), counted per request by the e2e harness. */
  failed: number;
  /** The failure kinds, throughput, exit codes and exit times behind `failed`. */
  detail: Record<string, number>;
}

/** Drain modes compared, each a fixture server around the same Express app. */
const MODES: readonly { mode: string; fixture: FixtureMode; env: Record<string, string> }[] = [
  {
    mode: 'baton',
    fixture: 'baton-core',
    // Above HAProxy's detection time (inter 200 ms x fall 2), as the docs tell users to set it.
    env: { BATON_PROPAGATION_DELAY_MS: '1000', BATON_DRAIN_TIMEOUT_MS: '10000', BATON_GRACE_PERIOD_MS: '20000' },
  },
  { mode: 'terminus (defaults)', fixture: 'terminus', env: {} },
  { mode: 'http-terminator alone', fixture: 'http-terminator', env: {} },
  { mode: 'plain server.close()', fixture: 'plain-close', env: { BATON_GRACE_PERIOD_MS: '20000' } },
];

/**
 * Failed requests over `restarts` rolling restarts (default 10) under steady
 * load (32 keep-alive connections, up to 2,000 req/s, a quarter of them
 * carrying slow requests) behind a real HAProxy 2.6 that learns of a drain only
 * through the readiness check (the Kubernetes situation), for Baton and its
 * peers side by side. Needs haproxy on PATH or in /usr/sbin.
 */
export async function runDrainBench(options: { restarts?: number } = {}): Promise<
  Array<{ mode: string; restarts: number; sent: number; failed: number; detail: Record<string, number> }>
> {
  const restarts = options.restarts ?? 10;
  if (!findHaproxy()) throw new Error('drain bench: haproxy not found (apt-get install -y haproxy)');
  const rows: DrainBenchRow[] = [];
  for (const { mode, fixture, env } of MODES) {
    const result = await runRollingRestart({ script: fixtureScript(fixture), env, restarts });
    rows.push(toRow(mode, restarts, result));
  }
  return rows;
}

function toRow(mode: string, restarts: number, result: RollingRestartResult): DrainBenchRow {
  const { load } = result;
  const exitMs = result.restarts.map((r) => r.exitMs);
  return {
    mode,
    restarts,
    sent: load.sent,
    failed: load.failed,
    detail: {
      non2xx: load.non2xx,
      resets: load.resets,
      errors: load.errors,
      timeouts: load.timeouts,
      lost: load.lost,
      responses: load.responses,
      requestsPerSecond: load.requestsPerSecond,
      // What autocannon alone would have reported as failed.
      autocannonCounted: load.autocannon.errors + load.autocannon.timeouts + load.autocannon.non2xx,
      nonZeroExits: result.restarts.filter((r) => r.exit.code !== 0).length,
      killedAfterTimeout: result.restarts.filter((r) => r.killed).length,
      exitMsMin: exitMs.length ? Math.min(...exitMs) : 0,
      exitMsMax: exitMs.length ? Math.max(...exitMs) : 0,
    },
  };
}

import type { RollingRestartResult } from './harness/index.js';

/** One mode's line in the side-by-side table the suite prints. */
export interface DrainSummaryRow {
  mode: string;
  result: RollingRestartResult;
}

/** Prints failed requests per mode side by side (printed, not asserted, for the peers). */
export function printDrainSummary(rows: DrainSummaryRow[]): void {
  if (rows.length === 0) return;
  const width = Math.max(4, ...rows.map((row) => row.mode.length));
  const lines = rows.map(({ mode, result }) => {
    const { load, restarts } = result;
    const exits = restarts.map((r) => (r.killed ? 'KILLED' : (r.exit.code ?? r.exit.signal))).join(',');
    const exitMs = restarts.map((r) => r.exitMs);
    // The last request each instance got after its readiness failed: how long HAProxy took to stop sending.
    const late = restarts.map((r) => r.shutdownReport?.['lastRequestAfterNotReadyMs']).filter((ms): ms is number => typeof ms === 'number');
    return [
      mode.padEnd(width),
      String(restarts.length).padStart(3),
      String(load.sent).padStart(7),
      String(load.failed).padStart(6),
      `non2xx ${load.non2xx} reset ${load.resets} err ${load.errors} timeout ${load.timeouts} lost ${load.lost}`.padEnd(52),
      `${load.requestsPerSecond} req/s`.padStart(11),
      `autocannon saw ${load.autocannon.errors + load.autocannon.timeouts + load.autocannon.non2xx}`.padEnd(20),
      `exits ${exits}`,
      `exit ms ${Math.min(...exitMs)}-${Math.max(...exitMs)}`,
      late.length > 0 ? `last request after not-ready ≤ ${Math.max(...late)} ms` : '',
    ].join('  ');
  });
  console.log(
    ['', 'Rolling restarts behind HAProxy 2.6 (SIGTERM; "router drain": HAProxy drained the instance first):', `${'mode'.padEnd(width)}  rst     sent  failed`, ...lines, ''].join('\n'),
  );
}

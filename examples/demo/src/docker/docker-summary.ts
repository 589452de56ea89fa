import { formatDemoSummary } from '../demo.js';
import type { DockerDemoResult } from './docker-demo.js';
import { formatPlacement } from './placement.js';

/**
 * The summary people read at the end: `pnpm demo`'s (every request
 * accounted for, the phases and their reports), then what Docker adds — the
 * engines, the one image, and where each instance ran.
 */
export function formatDockerDemoSummary(result: DockerDemoResult): string {
  const engines = new Set(result.placement.map((where) => where.engine));
  const lines = [
    '',
    '== On Docker ==',
    `Engines: ${result.engines.map((engine) => `${engine.name} (${engine.docker}, ports on ${engine.address})`).join(', ')}`,
    `Image: ${result.image.tag}, built once: ${result.image.id}; v1, v2 and v3 are this image, v3 with a bad setting (ORDERS_FAULT_ERROR_RATE)`,
    `Serving now, on ${engines.size} engine${engines.size === 1 ? '' : 's'}:`,
    ...formatPlacement(result.placement),
    ...failuresByWindow(result),
  ];
  return `${formatDemoSummary(result)}${lines.join('\n')}\n`;
}

/**
 * Where the failures that were not v3's 500s happened: during which deploy,
 * or between deploys — a failure while no deploy ran is the machine's
 * (a request slower than the load's 5 s timeout on an overloaded host), not
 * a deploy's. Only the first failures are kept by the load; empty when none.
 */
function failuresByWindow(result: DockerDemoResult): string[] {
  const failures = result.load.failures.filter((failure) => !(failure.kind === 'non2xx' && failure.detail === '500'));
  if (result.failedByDeploys === 0 || failures.length === 0) return [];
  const counts = new Map<string, number>();
  for (const failure of failures) {
    const at = result.load.startedAt + failure.atMs;
    const window = result.deployWindows.find((candidate) => at >= candidate.startMs && at <= candidate.endMs);
    const key = window === undefined ? 'while no deploy ran' : `during the deploy of ${window.release}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const kept = failures.length < result.failedByDeploys ? ` (the first ${failures.length} kept)` : '';
  return [`Failed requests by when${kept}: ${[...counts].map(([when, count]) => `${count} ${when}`).join(', ')}`];
}

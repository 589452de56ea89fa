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
  ];
  return `${formatDemoSummary(result)}${lines.join('\n')}\n`;
}

import { describe, expect, it } from 'vitest';
import type { BackendStatus, Router } from './model.js';
import { startMonitor } from './monitor.js';

/** A router whose every `backends()` takes `delayMs` (a large fleet's tick), noting when each call began. */
function slowRouter(delayMs: number, calls: number[]): Router {
  return {
    kind: 'test',
    url: 'http://127.0.0.1:1',
    add: async () => {},
    set: async () => {},
    remove: async () => {},
    close: async () => {},
    backends: async (): Promise<BackendStatus[]> => {
      calls.push(performance.now());
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return [];
    },
  };
}

describe('startMonitor', () => {
  it('rests at least four times as long as its last tick took, so scraping a large fleet cannot take the orchestrator’s whole CPU', async () => {
    const calls: number[] = [];
    const delayMs = 50;
    let samples = 0;
    let enough: () => void = () => {};
    const fourSamples = new Promise<void>((resolve) => (enough = resolve));
    const stop = startMonitor({
      router: slowRouter(delayMs, calls),
      instances: () => [],
      metricsPath: '/metrics',
      intervalMs: 10,
      onSample: () => {
        samples += 1;
        if (samples >= 4) enough();
      },
    });
    await fourSamples;
    await stop();
    // Each tick took at least `delayMs`; the next began no sooner than the tick plus four times it.
    const gaps = calls.slice(1).map((at, index) => at - (calls[index] as number));
    for (const gap of gaps.slice(0, 3)) expect(gap).toBeGreaterThanOrEqual(5 * delayMs * 0.95);
  });
});

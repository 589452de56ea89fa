import type { DeployEvent } from '../model.js';
import { describeSample, startMonitor } from '../monitor.js';
import type { DeployContext } from './deploy-context.js';
import { stopStragglerWatches } from './dns-switch.js';

/** Runs `work` with the traffic monitor sampling, one `sample` event per tick (none with `sampleIntervalMs` 0); the DNS switch's straggler watches end with it. */
export async function withTrafficSamples<T>(ctx: DeployContext, work: () => Promise<T>): Promise<T> {
  if (ctx.sampleIntervalMs === 0) {
    try {
      return await work();
    } finally {
      await stopStragglerWatches(ctx);
    }
  }
  let appending = Promise.resolve();
  const stop = startMonitor({
    router: ctx.router,
    instances: () => ctx.state.instances.filter((instance) => instance.status === 'ready' || instance.status === 'draining'),
    metricsPath: ctx.config.paths.metrics,
    ...(ctx.config.metricsToken === undefined ? {} : { token: ctx.config.metricsToken }),
    intervalMs: ctx.sampleIntervalMs,
    now: ctx.now,
    onSample: (sample) => {
      const event: DeployEvent = { atMs: sample.atMs, type: 'sample', message: describeSample(sample), data: { releases: sample.releases } };
      // In order, and never failing the deploy: a sample that cannot be journaled is only lost.
      appending = appending.then(() => ctx.journal.append(event)).catch(() => {});
      ctx.onEvent(event);
    },
  });
  try {
    return await work();
  } finally {
    await stopStragglerWatches(ctx);
    await stop();
    await appending;
  }
}

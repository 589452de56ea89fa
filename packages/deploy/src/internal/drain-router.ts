import type { InstanceRecord, Router } from '../model.js';
import { instanceInFlight, sleep } from './instance-probes.js';

/** Options of {@link drainRouter}. */
export interface DrainRouterOptions {
  /** How long to wait for requests in flight; past it the caller stops the instances anyway. */
  drainMs: number;
  /** Where the instances' `http_requests_in_flight` gauge is read. */
  metricsPath: string;
  token?: string;
  isRunning(instance: InstanceRecord): boolean | Promise<boolean>;
  pollMs?: number;
}

/**
 * `baton down`'s drain, the one the orchestrator gives each instance it
 * retires, for all at once: every backend the router sends traffic to is set
 * to `drain` (no new requests), then it waits until neither the router nor a
 * running instance has a request in flight, or `drainMs` passed. So the
 * instances' SIGTERM comes after the router let go of them, as the platform
 * promised them (`BATON_ROUTER_DRAINS_FIRST`).
 */
export async function drainRouter(router: Router, instances: readonly InstanceRecord[], options: DrainRouterOptions): Promise<{ drained: boolean; drainMs: number }> {
  const serving = (await router.backends()).filter((backend) => backend.state === 'ready');
  if (serving.length > 0) await router.set(serving.map((backend) => ({ id: backend.id, state: 'drain' as const, weight: 0 })));
  const started = Date.now();
  for (;;) {
    const atRouter = (await router.backends()).reduce((sum, backend) => sum + backend.inFlight, 0);
    let inInstances = 0;
    for (const instance of instances) {
      if (await options.isRunning(instance)) inInstances += (await instanceInFlight(instance, options.metricsPath, options.token)) ?? 0;
    }
    const drainMs = Date.now() - started;
    if (atRouter === 0 && inInstances === 0) return { drained: true, drainMs };
    if (drainMs >= options.drainMs) return { drained: false, drainMs };
    await sleep(options.pollMs ?? 100);
  }
}

import { BatonError, type Lifecycle } from '@baton/lifecycle';
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls the lifecycle's readiness probe until it answers 200, or fails after `timeoutMs`. */
export async function waitReady(lifecycle: Lifecycle | undefined, timeoutMs: number): Promise<void> {
  if (!lifecycle) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = await lifecycle.probe('readiness');
    if (report.statusCode === 200) return;
    if (Date.now() >= deadline) {
      throw new BatonError('BATON_ERR_STARTUP_TIMEOUT', `verifyProvider: the provider was not ready within ${timeoutMs} ms (readiness: ${JSON.stringify(report.body)}).`);
    }
    await sleep(50);
  }
}

// The hard part of a router without a runtime API: every change of traffic is
// a reload, and none may cost a request. A keep-alive load (every request a
// client sent that got no answer counts as failed) runs through the steps of
// a rolling deploy and then a canary's weight steps.
import type { Server } from 'node:http';
import { waitFor } from '@baton/testing';
import { startKeepAliveLoad } from '@baton/testing/conformance';
import { afterEach, describe, expect, it } from 'vitest';
import { startNginxRouter } from './nginx-router.js';
import { cleanUp, nginx, routerDir, startBackend, type TestBackend } from './nginx.test.fixtures.js';

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(() => cleanUp(dirs, servers));

describe.skipIf(!nginx)('nginx router under keep-alive load', () => {
  it('loses no request through a rolling deploy, a canary and bare reloads', async () => {
    const dir = await routerDir();
    dirs.push(dir);
    const router = await startNginxRouter({ dir });
    const old: TestBackend[] = [];
    for (const name of ['a1', 'a2', 'a3']) {
      const backend = await startBackend(name, servers);
      old.push(backend);
      await router.add({ id: name, release: 'v1', host: '127.0.0.1', port: backend.port });
    }
    await router.set(old.map((backend) => ({ id: backend.name, state: 'ready' as const, weight: 1 })));

    // Every request is counted: a complete 2xx answer or a failure (a reset, a close without an answer, a timeout).
    const load = startKeepAliveLoad({ url: router.url, connections: 32, maxDurationMs: 120_000, maxRequests: 400_000, timeoutMs: 10_000 });
    const answered = (more: number, timeoutMs: number): Promise<void> => {
      const target = load.finished() + more;
      return load.waitUntil(() => load.finished() >= target, timeoutMs, `${more} more answers`);
    };
    await answered(500, 20_000);
    let reloads = 0;
    const step = async (changes: Parameters<typeof router.set>[0]): Promise<void> => {
      await router.set(changes);
      reloads += 1;
      // Some traffic between two reloads, as between a deploy's steps.
      await answered(200, 20_000);
    };

    // Rolling, one at a time (maxSurge 1, maxUnavailable 0), as the orchestrator does it.
    const fresh: TestBackend[] = [];
    for (const [index, leaving] of old.entries()) {
      const backend = await startBackend(`b${index + 1}`, servers);
      fresh.push(backend);
      await router.add({ id: backend.name, release: 'v2', host: '127.0.0.1', port: backend.port });
      await step([{ id: backend.name, state: 'ready', weight: 1 }]);
      await step([{ id: leaving.name, state: 'drain', weight: 0 }]);
      await waitFor(async () => (await router.backends()).find((status) => status.id === leaving.name)?.inFlight === 0, 10_000, `${leaving.name} to drain`);
      await router.set([{ id: leaving.name, state: 'maint' }]);
      await router.remove(leaving.name);
      await leaving.kill();
    }
    // A canary's weight steps: a v3 instance at 25 %, 60 %, then everything.
    const canary = await startBackend('c1', servers);
    await router.add({ id: 'c1', release: 'v3', host: '127.0.0.1', port: canary.port });
    await step([{ id: 'c1', state: 'ready', weight: 1 }]);
    await step([{ id: 'c1', weight: 4 }, ...fresh.map((backend) => ({ id: backend.name, weight: 1 }))]);
    await step([{ id: 'c1', weight: 9 }, ...fresh.map((backend) => ({ id: backend.name, weight: 2 }))]);
    await step(fresh.map((backend) => ({ id: backend.name, state: 'drain' as const, weight: 0 })));
    // And bare reloads in a row.
    for (let i = 0; i < 5; i += 1) {
      await router.reload();
      reloads += 1;
    }
    await answered(500, 20_000);
    const report = await load.stop();

    const summary = `${reloads} reloads; ${report.sent} sent, ${report.ok} ok, ${report.failed} failed in ${report.durationMs} ms; first failures ${JSON.stringify(report.failures.slice(0, 5))}`;
    console.log(`nginx router under load: ${summary}`);
    expect(report.failed, summary).toBe(0);
    expect(report.ok).toBeGreaterThan(3000);
    expect(reloads).toBeGreaterThanOrEqual(14);
    // Only the canary serves at the end, and every request reached a backend.
    expect(old.every((backend) => backend.inFlight() === 0)).toBe(true);
    const status = await router.backends();
    expect(status.filter((backend) => backend.state === 'ready').map((backend) => backend.id)).toEqual(['c1']);
  }, 180_000);
});

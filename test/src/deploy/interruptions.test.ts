// What goes wrong around a deploy, and must still end with a serving
// release: the stable instances dying inside blue/green's rollback window, an
// abort while a step is starting instances, a killed orchestrator resumed by
// a single `baton promote`, and a candidate dying while the stable release is
// being retired.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readStatus, requestControl, runDeployCommand, type DeployEvent } from '@baton/deploy';
import { createService, release, type DeployedService } from './deploy-fixture.js';

const CLI = fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url));

let service: DeployedService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

/** Runs a deploy in this process, calling `when` on each event; resolves with the outcome and the events. */
async function deployWatching(svc: DeployedService, version: string, env: Record<string, string>, overrides: Parameters<DeployedService['config']>[1], when: (event: DeployEvent, deployId: string) => void) {
  const events: DeployEvent[] = [];
  let deployId = '';
  const outcome = await runDeployCommand(svc.config(release(version, env), overrides), 'deploy', {
    onEvent: (event) => {
      events.push(event);
      if (event.type === 'deploy-started') deployId = String(event.data?.['deployId']);
      when(event, deployId);
    },
  });
  return { outcome, events };
}

async function answers(url: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 6; i += 1) statuses.push(await fetch(`${url}/orders`).then((response) => response.status, () => 0));
  return statuses;
}

describe('interruptions', () => {
  it('stable instances killed inside the blue/green rollback window: an abort starts them again before the candidate leaves', async () => {
    service = await createService({ router: { kind: 'builtin' }, instances: 2 });
    expect((await service.deploy(release('v1'))).phase).toBe('succeeded');
    const svc = service;
    const v1 = (await readStatus(svc.config(release('v1')))).instances.filter((instance) => instance.release === 'v1');
    let killed = false;
    let lost = 0;
    const { outcome, events } = await deployWatching(svc, 'v2', {}, { strategy: { type: 'blue-green', rollbackWindowMs: 30_000 } }, (event, deployId) => {
      if (!killed && event.type === 'step' && (event.data?.['step'] as { kind?: string } | undefined)?.kind === 'hold') {
        killed = true;
        for (const instance of v1) if (instance.pid !== undefined) process.kill(instance.pid, 'SIGKILL');
      }
      // Abort once the orchestrator has seen both go (its events, not a guess at how long that takes).
      if (event.type === 'instance-lost' && event.data?.['release'] === 'v1') {
        lost += 1;
        if (lost === v1.length) void requestControl(svc.stateDir, 'abort', deployId);
      }
    });
    expect(outcome.phase, outcome.reason).toBe('rolled-back');
    expect(outcome.reason).toBe('aborted on request');
    expect(events.filter((event) => event.type === 'instance-lost' && event.data?.['release'] === 'v1')).toHaveLength(2);
    // Two fresh v1 instances serve, and the service answers.
    const status = await readStatus(svc.config(release('v1')));
    const ready = status.instances.filter((instance) => instance.status === 'ready');
    expect(ready.map((instance) => instance.release)).toEqual(['v1', 'v1']);
    expect(ready.every((instance) => !v1.some((old) => old.id === instance.id))).toBe(true);
    expect(await answers(await svc.routerUrl())).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('an abort while a step is starting instances rolls back at once, without waiting for readiness', async () => {
    service = await createService({ router: { kind: 'builtin' }, instances: 2 });
    expect((await service.deploy(release('v1'))).phase).toBe('succeeded');
    const svc = service;
    let abortedAt = 0;
    // The candidate never becomes ready, and the readiness deadline is a minute away: only the abort can end this deploy soon.
    const overrides = { strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 }, timeouts: { readyMs: 60_000, drainMs: 10_000, stopMs: 10_000 } } as const;
    const { outcome } = await deployWatching(svc, 'v2', { BATON_STARTUP_DELAY_MS: '600000' }, overrides, (event, deployId) => {
      if (event.type === 'instance-started' && abortedAt === 0) {
        abortedAt = Date.now();
        void requestControl(svc.stateDir, 'abort', deployId);
      }
    });
    expect(outcome.phase, outcome.reason).toBe('rolled-back');
    expect(outcome.reason).toBe('aborted on request');
    // Well inside the minute it would have waited for readiness (a generous bound: the point is "not at the deadline").
    expect(Date.now() - abortedAt).toBeLessThan(30_000);
    expect(await svc.servingReleases()).toEqual(['v1']);
  });

  it('a candidate that dies while the stable release is being retired fails the deploy instead of ending with nothing serving', async () => {
    service = await createService({ router: { kind: 'builtin' }, instances: 2 });
    expect((await service.deploy(release('v1'))).phase).toBe('succeeded');
    const svc = service;
    const url = await svc.routerUrl();
    let busy: Promise<unknown>[] = [];
    const { outcome } = await deployWatching(svc, 'v2', { ORDERS_CRASH_AFTER_MS: '2500' }, { strategy: { type: 'blue-green', rollbackWindowMs: 0 } }, (event) => {
      // Keep every v1 instance busy as the switch happens, so their drain outlasts v2's life: v2 dies 2.5 s
      // after it starts, and the switch comes after v2 started (or never, when v2 dies before it is ready).
      // 9 s, not less: on a busy machine v2's start alone took 3-4 s, and 5 s requests were over before it died.
      if (event.type === 'step' && (event.data?.['step'] as { kind?: string; candidatePercent?: number } | undefined)?.candidatePercent === 0) {
        busy = Array.from({ length: 4 }, () => fetch(`${url}/slow?ms=9000`).catch(() => undefined));
      }
    });
    await Promise.all(busy);
    expect(outcome.phase, outcome.reason).toBe('rolled-back');
    expect(outcome.reason).toMatch(/v2-\d+ exited with code 70|no instance of v2 is running|no instance of v2 is ready/);
    expect(await svc.servingReleases()).toEqual(['v1']);
    expect(await answers(url)).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('a killed orchestrator paused for promotion goes on with a single `baton promote`', async () => {
    service = await createService({ router: { kind: 'builtin' }, instances: 2 });
    expect((await service.deploy(release('v1'))).phase).toBe('succeeded');
    const file = join(service.stateDir, 'baton.config.json');
    await writeFile(file, JSON.stringify({ service: 'orders', instances: 2, stateDir: service.stateDir, router: { kind: 'builtin' }, strategy: { type: 'canary', steps: [{ setWeight: 50 }, { pause: {} }] }, release: release('v2') }));
    const run = (args: string[]) => {
      const child = spawn(process.execPath, [CLI, ...args, '--config', file], { cwd: service?.stateDir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      return { child, output: () => out, exited: new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))) };
    };
    const deploy = run(['deploy', '--json']);
    const deadline = Date.now() + 30_000;
    while (!deploy.output().includes('"type":"paused"')) {
      if (Date.now() > deadline) throw new Error(`never paused:\n${deploy.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    deploy.child.kill('SIGKILL');
    await deploy.exited;
    // Nobody is running the deploy: promote resumes it here, and one promote is enough.
    const promote = run(['promote', '--json']);
    expect(await promote.exited, promote.output()).toBe(0);
    expect(promote.output()).toContain('"type":"promoted"');
    expect(promote.output()).toContain('"type":"succeeded"');
    expect(promote.output().match(/"type":"paused"/g) ?? []).toHaveLength(0);
    expect(await service.servingReleases()).toEqual(['v2']);
  });
});

// A canary judged against a fresh baseline (Kayenta's way), end to end: when
// a canary has an analysis, new instances of the stable release start with
// the candidate's, get the same share of traffic each, and leave with the
// canary — after a promotion, a rollback, or an orchestrator killed
// mid-canary and started again — with no process left behind and no failed
// request under load.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { formatStatus, readStatus, runDeployCommand, servicePlatform, type BackendStatus, type Platform, type DeployEvent, type DeployReport, type ServiceStatus, type Strategy } from '@baton/deploy';
import { haproxyInstalled } from '@baton/router-haproxy';
import { createService, failuresOf, release, steadyLoad, type DeployedService } from './deploy-fixture.js';

const CLI = fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url));

// The analysis' judgement is not what these tests are about (its own tests are): a busy machine's latency noise must not roll a good candidate back.
const analysis = { minRequests: 20, onInconclusive: 'continue', minLatencyIncreaseMs: 500 } as const;
const canary: Strategy = { type: 'canary', steps: [{ setWeight: 25 }, { analysis: { durationMs: 2500 } }] };

const routers = ['builtin' as const, ...(haproxyInstalled() ? (['haproxy'] as const) : [])];
if (!haproxyInstalled()) console.log('fresh baseline e2e: haproxy is not installed (apt-get install haproxy; .ci/run does) — the HAProxy run is skipped');

let service: DeployedService | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  // A CLI a failed test left running would go on deploying over the teardown.
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await service?.close();
  service = undefined;
});

/** True while a process with this pid runs (signal 0 only asks). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An instance started by a CLI that was killed belongs to init once it exits, and stays a zombie
  // (state Z: exited, nothing left but its pid) until init reaps it, a second or more here.
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/** The baseline instances a deploy started, from its `instance-started` events: id and pid. */
function baselineStarts(events: readonly DeployEvent[]): { id: string; pid: number }[] {
  return events.filter((event) => event.type === 'instance-started' && event.data?.['role'] === 'baseline').map((event) => ({ id: String(event.data?.['id']), pid: Number(event.data?.['pid']) }));
}

/** The journal's instances (the baseline's marked) and the router's backends. */
async function statusOf(svc: DeployedService): Promise<{ instances: ServiceStatus['instances']; backends: BackendStatus[]; text: string }> {
  const status = await readStatus(svc.config(release('any')));
  if (status.router === undefined || 'error' in status.router) throw new Error(`no router: ${JSON.stringify(status.router)}`);
  return { instances: status.instances, backends: status.router.backends, text: formatStatus(status) };
}

/** What must hold once a deploy ended: no baseline instance in the journal, in the router, or running. */
async function expectNoBaseline(svc: DeployedService, started: readonly { id: string; pid: number }[]): Promise<void> {
  const status = await statusOf(svc);
  const ids = new Set(started.map(({ id }) => id));
  expect(status.backends.filter((backend) => ids.has(backend.id))).toEqual([]);
  expect(status.instances.filter((instance) => instance.role === 'baseline' && instance.status !== 'stopped' && instance.status !== 'failed')).toEqual([]);
  for (const { id, pid } of started) expect(isAlive(pid), `baseline ${id} (pid ${pid}) still runs`).toBe(false);
}

for (const router of routers) {
  describe(`a canary with an analysis behind the ${router} router`, () => {
    it('judges v2 against fresh v1 instances carrying the same traffic, then retires them with the canary; zero failed requests', async () => {
      service = await createService({ router: { kind: router }, strategy: canary, analysis });
      const svc = service;
      expect((await svc.deploy(release('v1'))).phase).toBe('succeeded');
      const load = steadyLoad(await svc.routerUrl());
      await load.waitForResponses(100, 20_000);

      // Read while the analysis runs: it begins right after its step is announced, and lasts 2.5 s.
      let during: ReturnType<typeof statusOf> | undefined;
      const outcome = await svc.deploy(release('v2'), {}, (event) => {
        if (during === undefined && event.type === 'step' && (event.data?.['step'] as { kind?: string } | undefined)?.kind === 'analysis') during = statusOf(svc);
      });
      await load.waitForResponses(load.responses() + 50, 30_000);
      const report = await load.stop();

      expect(outcome.phase, outcome.reason).toBe('succeeded');
      expect(report.failed, failuresOf(report, svc)).toBe(0);
      expect(report.ok).toBeGreaterThan(300);

      // One candidate instance at 25%, so one baseline instance, started with it.
      const started = baselineStarts(svc.events);
      expect(started).toHaveLength(1);
      const [baseline] = started as [{ id: string; pid: number }];
      expect(svc.events.find((event) => event.type === 'instance-started' && event.data?.['id'] === baseline.id)?.message).toContain('(baseline');
      const steps = svc.events.filter((event) => event.type === 'step').map((event) => event.message);
      expect(steps.some((message) => /v2 to 1 instance; v1 baseline to 1 instance, started with the canary/.test(message))).toBe(true);

      // During the analysis: the baseline is a ready v1 backend, weighted like the candidate; the warm v1 instances carry the rest.
      expect(during, 'no analysis step was announced').toBeDefined();
      const status = await (during as ReturnType<typeof statusOf>);
      expect(status.instances.find((instance) => instance.id === baseline.id)).toMatchObject({ release: 'v1', role: 'baseline', status: 'ready' });
      const backend = status.backends.find((candidate) => candidate.id === baseline.id);
      const candidates = status.backends.filter((candidate) => candidate.release === 'v2');
      expect(backend).toMatchObject({ release: 'v1', state: 'ready' });
      expect(candidates).toHaveLength(1);
      expect(backend?.weight).toBe(candidates[0]?.weight);
      expect(status.backends.filter((candidate) => candidate.release === 'v1' && candidate.id !== baseline.id && candidate.state === 'ready' && candidate.weight > 0)).toHaveLength(3);
      expect(svc.events.some((event) => event.type === 'weights' && /^Traffic: v1 [\d.]+%, v2 2[45](\.\d)?%, v1 \(baseline\) 2[45](\.\d)?%\.$/.test(event.message))).toBe(true);
      // `baton status` says what it is, in the router and among the instances.
      expect(status.text).toMatch(new RegExp(`${baseline.id} +v1 +ready .*\\(baseline of v1 beside the canary\\)`));
      expect(status.text).toMatch(new RegExp(`${baseline.id} \\(ready, :\\d+, baseline of v1\\)`));

      // The analysis ran and said what it says.
      const judged = svc.events.find((event) => event.type === 'analysis');
      expect(judged?.data?.['verdict']).toBeDefined();

      // The baseline was retired with the canary: drained like any instance, its process gone, and v2 serves everything.
      expect(svc.events.some((event) => event.type === 'instance-stopped' && event.data?.['id'] === baseline.id && event.data?.['drained'] === true)).toBe(true);
      await expectNoBaseline(svc, started);
      expect(await svc.servingReleases()).toEqual(['v2']);
      // The report names it where the analysis is read.
      const written = JSON.parse(readFileSync(outcome.report?.json as string, 'utf8')) as DeployReport;
      expect(written.baseline).toMatchObject({ release: 'v1', instances: [baseline.id] });
    });
  });
}

describe('a fresh baseline beside a canary', () => {
  it('leaves with a bad candidate: rolled back, the baseline stopped too, v1 back at full strength', async () => {
    service = await createService({ router: { kind: 'builtin' }, strategy: canary, analysis: { minRequests: 20, onInconclusive: 'fail' } });
    const svc = service;
    expect((await svc.deploy(release('v1'))).phase).toBe('succeeded');
    const load = steadyLoad(await svc.routerUrl());
    await load.waitForResponses(100, 20_000);
    const outcome = await svc.deploy(release('v2', { ORDERS_FAULT_ERROR_RATE: '0.5' }));
    await load.waitForResponses(load.responses() + 50, 30_000);
    const report = await load.stop();

    expect(outcome.phase, outcome.reason).toBe('rolled-back');
    // The only failures are v2's own 500s, while it had its share.
    expect(report.failed, failuresOf(report, svc)).toBe(report.statuses['500'] ?? 0);
    const started = baselineStarts(svc.events);
    expect(started).toHaveLength(1);
    await expectNoBaseline(svc, started);
    expect(await svc.servingReleases()).toEqual(['v1']);
    const status = await statusOf(svc);
    expect(status.instances.filter((instance) => instance.release === 'v1' && instance.role === undefined && instance.status === 'ready')).toHaveLength(3);
    expect(status.backends.filter((backend) => backend.state === 'ready' && backend.weight > 0).map((backend) => backend.release)).toEqual(['v1', 'v1', 'v1']);
  });

  it('that crashes does not roll the canary back: said in a baseline-failed event, and the deploy goes on', async () => {
    service = await createService({ router: { kind: 'builtin' }, strategy: canary, analysis });
    const svc = service;
    expect((await svc.deploy(release('v1'))).phase).toBe('succeeded');
    const load = steadyLoad(await svc.routerUrl());
    await load.waitForResponses(100, 20_000);
    let killed: number | undefined;
    const outcome = await svc.deploy(release('v2'), {}, (event) => {
      // Once its start is journaled, at the analysis: the watcher sees it go.
      if (killed === undefined && event.type === 'step' && (event.data?.['step'] as { kind?: string } | undefined)?.kind === 'analysis') {
        killed = baselineStarts(svc.events)[0]?.pid;
        if (killed !== undefined) process.kill(killed, 'SIGKILL');
      }
    });
    await load.waitForResponses(load.responses() + 50, 30_000);
    const report = await load.stop();

    expect(killed, 'no baseline instance to kill').toBeDefined();
    expect(outcome.phase, outcome.reason).toBe('succeeded');
    const failed = svc.events.filter((event) => event.type === 'baseline-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.message).toMatch(/^Baseline instance v1-b\d+ exited with signal SIGKILL .*; out of traffic, and the canary goes on/);
    expect(svc.events.some((event) => event.type === 'rollback')).toBe(false);
    // SIGKILL fails what was in flight on it (a request or two at this rate, as for any instance killed so); a
    // generous bound, since the point is that it left the traffic at once rather than failing every request sent its way.
    expect(report.failed, failuresOf(report, svc)).toBeLessThan(20);
    await expectNoBaseline(svc, baselineStarts(svc.events));
    expect(await svc.servingReleases()).toEqual(['v2']);
  });

  it('that fails to start does not hold the canary back: said in a baseline-failed event, and the deploy goes on', async () => {
    service = await createService({ router: { kind: 'builtin' }, strategy: canary, analysis, instances: 2 });
    const svc = service;
    expect((await svc.deploy(release('v1'))).phase).toBe('succeeded');
    // A host with no room for one more process cannot be made on purpose here: the real platform,
    // refusing the baseline's start alone, stands in for it (the baseline is v1, which starts fine otherwise).
    const config = svc.config(release('v2'));
    const real = await servicePlatform(config);
    const platform: Platform = { ...real, start: (spec, options) => (/-b\d+$/.test(options.id) ? Promise.reject(new Error('no room for it on this host (injected)')) : real.start(spec, options)) };
    const events: DeployEvent[] = [];
    try {
      const outcome = await runDeployCommand(config, 'deploy', { platform, onEvent: (event) => events.push(event) });
      expect(outcome.phase, outcome.reason).toBe('succeeded');
    } finally {
      await real.close?.();
    }
    const failed = events.filter((event) => event.type === 'baseline-failed');
    expect(failed.map((event) => event.message)).toEqual([
      expect.stringMatching(/^Baseline instance v1-b\d+ did not start: no room for it on this host \(injected\); and the canary goes on, judged against the warm instances of v1/),
    ]);
    expect(events.some((event) => event.type === 'rollback')).toBe(false);
    expect(baselineStarts(events)).toEqual([]);
    expect(await svc.servingReleases()).toEqual(['v2']);
  });

  it('is not started with strategy.baseline false', async () => {
    service = await createService({ router: { kind: 'builtin' }, strategy: { ...canary, baseline: false } as Strategy, analysis, instances: 2 });
    const svc = service;
    expect((await svc.deploy(release('v1'))).phase).toBe('succeeded');
    const outcome = await svc.deploy(release('v2'));
    expect(outcome.phase, outcome.reason).toBe('succeeded');
    // No load here: the analysis is inconclusive (and retried) — it ran, and nothing stood beside the canary.
    expect(svc.events.filter((event) => event.type === 'analysis').length).toBeGreaterThan(0);
    expect(baselineStarts(svc.events)).toEqual([]);
    expect(svc.events.filter((event) => event.type === 'instance-started' && event.data?.['release'] === 'v1')).toHaveLength(2);
    expect(svc.events.some((event) => event.type === 'weights' && event.message.includes('baseline'))).toBe(false);
    expect(await svc.servingReleases()).toEqual(['v2']);
  });

  it('survives its orchestrator: killed mid-canary, the deploy started again finds the baseline in the journal and retires it; zero failed requests', async () => {
    service = await createService({ router: { kind: 'builtin' } });
    const svc = service;
    expect((await svc.deploy(release('v1'))).phase).toBe('succeeded');
    const load = steadyLoad(await svc.routerUrl());
    await load.waitForResponses(100, 20_000);

    const config = join(svc.stateDir, 'baton.config.json');
    await writeFile(
      config,
      JSON.stringify({
        service: 'orders',
        instances: 3,
        stateDir: svc.stateDir,
        router: { kind: 'builtin' },
        strategy: { type: 'canary', steps: [{ setWeight: 25 }, { analysis: { durationMs: 4000 } }] },
        analysis,
        timeouts: { readyMs: 15_000, drainMs: 10_000, stopMs: 10_000 },
        release: release('v2'),
      }),
    );
    const first = runCli(['deploy', '--config', config, '--json'], svc.stateDir);
    // Killed in the analysis: the candidate and its baseline are both serving.
    await first.waitFor((event) => event['type'] === 'step' && (event['data'] as { step?: { kind?: string } } | undefined)?.step?.kind === 'analysis');
    first.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const started = baselineStarts(first.events());
    expect(started).toHaveLength(1);
    const [baseline] = started as [{ id: string; pid: number }];
    // Nobody orchestrates: the baseline still runs and serves, as journaled.
    expect(isAlive(baseline.pid)).toBe(true);
    const meanwhile = await statusOf(svc);
    expect(meanwhile.instances.find((instance) => instance.id === baseline.id)).toMatchObject({ role: 'baseline', status: 'ready' });
    await load.waitForResponses(load.responses() + 50, 30_000);

    const second = runCli(['deploy', '--config', config, '--json'], svc.stateDir);
    await second.waitFor((event) => event['type'] === 'deploy-resumed');
    expect(await second.exited, second.output()).toBe(0);
    const report = await load.stop();
    expect(second.events().some((event) => event['type'] === 'succeeded')).toBe(true);
    expect(report.failed, failuresOf(report, svc)).toBe(0);
    // The resumed deploy started no baseline of its own and retired the first one's.
    expect(baselineStarts(second.events())).toEqual([]);
    expect(second.events().some((event) => event['type'] === 'instance-stopped' && (event['data'] as Record<string, unknown> | undefined)?.['id'] === baseline.id)).toBe(true);
    await expectNoBaseline(svc, started);
    expect(await svc.servingReleases()).toEqual(['v2']);
  });
});

interface CliRun {
  /** Resolves with the first JSON event the CLI printed that `match` accepts. */
  waitFor(match: (event: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  events(): DeployEvent[];
  exited: Promise<number | string>;
  output(): string;
  kill(signal: NodeJS.Signals): void;
}

/** `baton` as a process of its own, so it can be killed like a real one (as resume.test.ts does). */
function runCli(args: string[], cwd: string): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  // Whole lines only: the last one may still be arriving.
  const events = (): DeployEvent[] =>
    out
      .slice(0, out.lastIndexOf('\n') + 1)
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as DeployEvent);
  return {
    exited,
    events,
    output: () => `${out}\n${err}`,
    kill: (signal) => child.kill(signal),
    async waitFor(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events().find((event) => match(event as unknown as Record<string, unknown>));
        if (found) return found as unknown as Record<string, unknown>;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no such event from baton ${args.join(' ')}:\n${out}\n${err}`);
        // Polls the output the CLI printed so far (an event, not a guess at how long the deploy takes).
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

// The orchestrator is a process that can die: `baton deploy` killed with
// SIGKILL in the middle of a canary leaves the router and every instance
// serving, and the same command started again resumes the deploy from its
// journal — with no failed request in between or after. Also: `baton abort`
// from another terminal rolls a paused canary back.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { haproxyInstalled } from '@baton/router-haproxy';
import { createService, failuresOf, release, steadyLoad, type DeployedService } from './deploy-fixture.js';

const CLI = fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url));

interface CliRun {
  /** Resolves with the first JSON event of `type` the CLI printed. */
  waitForEvent(type: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | string>;
  output(): string;
  kill(signal: NodeJS.Signals): void;
}

function runCli(args: string[], cwd: string): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const events = (): Record<string, unknown>[] =>
    out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    exited,
    output: () => `${out}\n${err}`,
    kill: (signal) => child.kill(signal),
    async waitForEvent(type, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events().find((event) => event['type'] === type);
        if (found) return found;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no "${type}" event from baton ${args.join(' ')}:\n${out}\n${err}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

let service: DeployedService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function writeConfig(stateDir: string, version: string, steps: unknown[], analysis: Record<string, unknown> = { minRequests: 20, onInconclusive: 'continue' }, router: 'builtin' | 'haproxy' = 'builtin'): Promise<string> {
  const file = join(stateDir, 'baton.config.json');
  await writeFile(
    file,
    JSON.stringify({
      service: 'orders',
      instances: 3,
      stateDir,
      router: { kind: router },
      strategy: { type: 'canary', steps },
      analysis,
      timeouts: { readyMs: 15_000, drainMs: 10_000, stopMs: 10_000 },
      release: release(version),
    }),
  );
  return file;
}

describe('an orchestrator killed mid-deploy', () => {
  for (const router of haproxyInstalled() ? (['builtin', 'haproxy'] as const) : (['builtin'] as const)) {
    it(`behind the ${router} router: resumes from its journal when started again, and no request fails in between`, async () => {
      service = await createService({ router: { kind: router } });
      expect((await service.deploy(release('v1'))).phase).toBe('succeeded');
      const load = steadyLoad(await service.routerUrl());
      await load.waitForResponses(100, 20_000);

      const config = await writeConfig(service.stateDir, 'v2', [{ setWeight: 34 }, { pause: { durationMs: 4000 } }, { setWeight: 67 }], undefined, router);
      const first = runCli(['deploy', '--config', config, '--json'], service.stateDir);
      // The canary is serving a third of the traffic, in its timed pause, when its orchestrator dies.
      const deadline = Date.now() + 30_000;
      while (!first.output().includes('"kind":"pause"')) {
        if (Date.now() > deadline) throw new Error(`the deploy never reached its pause:\n${first.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      first.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      // Nobody is orchestrating: traffic still flows to both releases.
      await load.waitForResponses(load.responses() + 50, 30_000);
      expect(await service.servingReleases()).toEqual(['v1', 'v2']);

      const second = runCli(['deploy', '--config', config, '--json'], service.stateDir);
      await second.waitForEvent('deploy-resumed');
      expect(await second.exited, second.output()).toBe(0);
      const report = await load.stop();
      expect(second.output()).toContain('"type":"succeeded"');
      expect(report.failed, failuresOf(report, service)).toBe(0);
      expect(await service.servingReleases()).toEqual(['v2']);
    });
  }

  it('a paused canary is rolled back by `baton abort` from another process', async () => {
    service = await createService({ router: { kind: 'builtin' } });
    expect((await service.deploy(release('v1'))).phase).toBe('succeeded');
    const config = await writeConfig(service.stateDir, 'v2', [{ setWeight: 20 }, { pause: {} }]);
    const deploy = runCli(['deploy', '--config', config, '--json'], service.stateDir);
    await deploy.waitForEvent('paused');
    const status = runCli(['status', '--config', config], service.stateDir);
    expect(await status.exited).toBe(0);
    expect(status.output()).toMatch(/deploy .*: v1 → v2, paused/);

    const abort = runCli(['abort', '--config', config], service.stateDir);
    expect(await abort.exited, abort.output()).toBe(0);
    expect(abort.output()).toContain('Asked the running deploy of v2 to abort.');
    // The deploy itself ends rolled back, with exit code 1.
    expect(await deploy.exited, deploy.output()).toBe(1);
    expect(deploy.output()).toContain('"type":"rolled-back"');
    expect(await service.servingReleases()).toEqual(['v1']);
  });

  it('with no traffic, analysis is inconclusive, not a failure: the canary pauses until `baton promote`', async () => {
    service = await createService({ router: { kind: 'builtin' } });
    expect((await service.deploy(release('v1'))).phase).toBe('succeeded');
    // No load at all: the canary gets no requests to judge.
    const config = await writeConfig(service.stateDir, 'v2', [{ setWeight: 50 }, { analysis: { durationMs: 500 } }], { minRequests: 20, inconclusiveRetries: 1, onInconclusive: 'pause' });
    const deploy = runCli(['deploy', '--config', config, '--json'], service.stateDir);
    const paused = await deploy.waitForEvent('paused');
    expect(String(paused['message'])).toMatch(/analysis inconclusive after \d+ windows/);
    expect(deploy.output()).not.toContain('"type":"rollback"');

    const promote = runCli(['promote', '--config', config], service.stateDir);
    expect(await promote.exited, promote.output()).toBe(0);
    expect(promote.output()).toContain('Asked the running deploy of v2 to promote.');
    expect(await deploy.exited, deploy.output()).toBe(0);
    expect(deploy.output()).toContain('"type":"succeeded"');
    expect(await service.servingReleases()).toEqual(['v2']);
  });

  it('Ctrl-C stops `baton deploy` at a safe point without rolling back; the same command resumes it', async () => {
    service = await createService({ router: { kind: 'builtin' } });
    expect((await service.deploy(release('v1'))).phase).toBe('succeeded');
    const load = steadyLoad(await service.routerUrl());
    await load.waitForResponses(100, 20_000);
    const config = await writeConfig(service.stateDir, 'v2', [{ setWeight: 34 }, { pause: { durationMs: 6000 } }]);
    const first = runCli(['deploy', '--config', config, '--json'], service.stateDir);
    const deadline = Date.now() + 30_000;
    while (!first.output().includes('"kind":"pause"')) {
      if (Date.now() > deadline) throw new Error(`the deploy never reached its pause:\n${first.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    first.kill('SIGINT');
    expect(await first.exited, first.output()).toBe(130);
    expect(first.output()).toContain('"type":"interrupted"');
    expect(first.output()).not.toContain('"type":"rollback"');
    // Still open, both releases serving as the deploy left them.
    expect(await service.servingReleases()).toEqual(['v1', 'v2']);

    const second = runCli(['deploy', '--config', config, '--json'], service.stateDir);
    await second.waitForEvent('deploy-resumed');
    expect(await second.exited, second.output()).toBe(0);
    const report = await load.stop();
    expect(report.failed, failuresOf(report, service)).toBe(0);
    expect(await service.servingReleases()).toEqual(['v2']);
  });
});


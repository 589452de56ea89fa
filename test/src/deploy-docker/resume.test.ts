// The orchestrator is a process that can die, also on Docker: `baton deploy`
// (the CLI, as a user runs it) killed with SIGKILL while its canary serves
// leaves every container and the router serving; the same command started
// again finds the containers by their labels, adopts them (no second
// container for any instance, the candidate's container kept), and finishes
// the deploy — with no failed request in between or after.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failuresOf } from '../deploy/deploy-fixture.js';
import { createDockerService, logFigures, dockerLoad, dockerSkipReason, runningByEngine, startDockerRig, TEST_PACKAGE_DIR, type DockerRig, type DockerService } from './docker-fixture.js';

const CLI = fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url));
const skip = dockerSkipReason('orchestrator killed on Docker');

interface CliRun {
  /** Resolves with the first JSON event that `matches`. */
  waitForEvent(what: string, matches: (event: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  events(): Record<string, unknown>[];
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
      .filter((line) => line.startsWith('{') && line.endsWith('}'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    events,
    exited,
    output: () => `${out}\n${err}`,
    kill: (signal) => child.kill(signal),
    async waitForEvent(what, matches, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events().find(matches);
        if (found) return found;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${what} from baton ${args.join(' ')}:\n${out}\n${err}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/**
 * A project directory as a user has it: baton.config.json, and the Docker
 * platform package installed beside the CLI (here: linked to the workspace's).
 */
async function writeProject(service: DockerService, steps: unknown[]): Promise<string> {
  const dir = (project = await mkdtemp('/tmp/bdp-'));
  const installed = dirname(createRequire(join(TEST_PACKAGE_DIR, 'package.json')).resolve('@baton/platform-docker/package.json'));
  await mkdir(join(dir, 'node_modules', '@baton'), { recursive: true });
  await symlink(installed, join(dir, 'node_modules', '@baton', 'platform-docker'));
  const config = {
    service: service.name,
    instances: 3,
    stateDir: service.stateDir,
    router: { kind: 'builtin' },
    platform: service.platform(),
    strategy: { type: 'canary', steps },
    analysis: { minRequests: 20, onInconclusive: 'continue' },
    timeouts: { readyMs: 60_000, drainMs: 10_000, stopMs: 10_000 },
    release: service.release('v2'),
  };
  await writeFile(join(dir, 'baton.config.json'), JSON.stringify(config));
  return dir;
}

let rig: DockerRig | undefined;
let service: DockerService | undefined;
let project: string | undefined;
beforeAll(async () => {
  if (skip === undefined) rig = await startDockerRig();
}, 180_000);
afterEach(async () => {
  await service?.close();
  service = undefined;
  if (project !== undefined) await rm(project, { recursive: true, force: true });
  project = undefined;
});
afterAll(async () => {
  await rig?.close();
});

describe.skipIf(skip !== undefined)('an orchestrator killed mid-deploy on Docker', () => {
  it('SIGKILL once the canary is ready: started again, it adopts the containers by label, finishes, and no request fails', async () => {
    service = await createDockerService(rig as DockerRig, { router: { kind: 'builtin' } });
    expect((await service.deploy(service.release('v1'))).phase).toBe('succeeded');
    const load = dockerLoad(await service.routerUrl());
    await load.waitForResponses(100, 20_000);

    const dir = await writeProject(service, [{ setWeight: 34 }, { pause: { durationMs: 3000 } }, { setWeight: 67 }, { pause: { durationMs: 1000 } }]);
    const first = runCli(['deploy', '--json'], dir);
    const ready = await first.waitForEvent('instance-ready of a v2 instance', (event) => event['type'] === 'instance-ready' && (event['data'] as Record<string, unknown> | undefined)?.['release'] === 'v2');
    first.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const candidate = String((ready['data'] as Record<string, unknown>)['id']);

    // Nobody orchestrates: the containers run on, one per instance, the candidate among them.
    const orphaned = await service.containers();
    const candidateContainers = orphaned.filter((container) => container.instance === candidate);
    expect(candidateContainers.map((container) => container.state), JSON.stringify(orphaned)).toEqual(['running']);
    await load.waitForResponses(load.responses() + 50, 30_000);

    const second = runCli(['deploy', '--json'], dir);
    await second.waitForEvent('deploy-resumed', (event) => event['type'] === 'deploy-resumed');
    expect(await second.exited, second.output()).toBe(0);
    await load.waitForResponses(load.responses() + 50, 30_000);
    const report = await load.stop();
    logFigures('orchestrator killed and resumed', report);

    expect(second.output()).toContain('"type":"succeeded"');
    expect(report.failed, failuresOf(report, service)).toBe(0);
    expect(await service.servingReleases()).toEqual(['v2']);
    // Adopted, not replaced: the candidate's container is the one the first run started.
    const after = await service.containers();
    const kept = after.find((container) => container.instance === candidate);
    expect(kept?.id, JSON.stringify(after)).toBe(candidateContainers[0]?.id);
    // No duplicates anywhere: one container per instance, three of v2 running, nothing else left.
    const instances = after.map((container) => container.instance);
    expect(new Set(instances).size, JSON.stringify(after)).toBe(instances.length);
    expect(after.map((container) => `${container.release}:${container.state}`)).toEqual(['v2:running', 'v2:running', 'v2:running']);
    const started = [...first.events(), ...second.events()].filter((event) => event['type'] === 'instance-started' && (event['data'] as Record<string, unknown> | undefined)?.['release'] === 'v2');
    const startedIds = started.map((event) => String((event['data'] as Record<string, unknown>)['id']));
    expect(new Set(startedIds).size, 'no instance was started twice').toBe(startedIds.length);
    const byEngine = await runningByEngine(service);
    for (const [engine, releases] of Object.entries(byEngine)) expect(releases, `engine ${engine}`).toContain('v2');
  });
});

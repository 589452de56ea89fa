// `npx baton` deploying a user's app as Docker containers: the project that
// installed every public package from its tarball (so `@baton/platform-docker`
// and dockerode come as a user gets them) builds an image of the README's
// Express app from its own node_modules, pins it with `baton release create`,
// deploys v1 and then v2 of the same image under load through the built-in
// router, lists the releases, and takes everything down.
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { findFreePort } from '@baton/deploy';
import { buildNodeImage, ensureDockerEngine, removeContainersLabelled, type BuiltImage } from '@baton/testing/docker';
import { startLoad, type RunningLoad } from '../harness/index.js';
import { runCommand } from './commands.js';
import type { CliStep, DeployRound } from './deploy-scenario.js';

/** The engine the config names, as a user writes it: the machine's own socket. */
const LOCAL_ENGINE = 'unix:///var/run/docker.sock';

/** What the Docker round showed. */
export interface DockerRound {
  service: string;
  /** The image built from the project's app.js and node_modules. */
  image: BuiltImage;
  /** Building it (esbuild bundle + import into the engine; nothing when the engine has that content already). */
  imageMs: number;
  steps: CliStep[];
  /** The first step that did not exit 0 (the round stopped there, then ran `baton down`). */
  failed?: CliStep;
  load?: DeployRound['load'];
  /** `releaseId` of `/readyz` answers through the router after the v2 deploy. */
  releasesAnswering: string[];
  /** The `baton.release` label of each running container of the service on the engine, after the v2 deploy. */
  containers?: string[];
  /** `baton releases --json` after the v2 deploy. */
  releases?: { releases: { version: string; artifact?: { kind: string; digest: string; source: string }; role?: string; running: number }[] };
  /** `baton releases` (the table a user reads) after the v2 deploy. */
  releasesTable?: string;
  /** Containers labelled with the service that `baton down` left on the engine (removed by the round's clean-up). */
  containersLeft?: number;
  ms: number;
}

/**
 * In a fresh directory of the project whose node_modules hold app.js's
 * dependencies: builds the image of `entry`, writes a baton.config.json with
 * `platform.kind: 'docker'`, then `release create`, `deploy` (v1), `release
 * create --release v2`, `deploy --release v2` under load, `releases` (JSON
 * and table), `down`; finally counts (and removes) the service's containers.
 */
export async function dockerRound(options: { projectDir: string; entry: string }): Promise<DockerRound> {
  const started = Date.now();
  const engine = await ensureDockerEngine();
  const imageStarted = Date.now();
  const image = await buildNodeImage(engine, { name: 'baton-consumer-hello', entry: options.entry });
  const service = `hello-docker-${randomBytes(3).toString('hex')}`;
  const round: DockerRound = { service, image, imageMs: Date.now() - imageStarted, steps: [], releasesAnswering: [], ms: 0 };
  // Beside the app, inside the project: `npx baton` and the platform lookup resolve the project's node_modules.
  const dir = await mkdtemp(join(options.projectDir, 'docker-'));
  const port = await findFreePort();
  const config = {
    service,
    instances: 2,
    release: { version: 'v1', image: image.tag },
    platform: { kind: 'docker', hosts: [{ name: 'local', docker: LOCAL_ENGINE }] },
    router: { kind: 'builtin', port },
    strategy: { type: 'rolling' },
    // A container's start on two shared, busy cores was seen past the 30 s default (deploy-docker's fixture).
    timeouts: { readyMs: 60_000 },
  };
  await writeFile(join(dir, 'baton.config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const baton = async (...args: string[]): Promise<CliStep> => {
    // `--no`: never fetch a `baton` package from the registry should the local bin be missing.
    const result = await runCommand('npx', ['--no', 'baton', ...args], { cwd: dir, timeoutMs: 180_000 });
    const step = { command: `npx baton ${args.join(' ')}`, result };
    round.steps.push(step);
    if (result.code !== 0 && round.failed === undefined) round.failed = step;
    return step;
  };
  const ok = async (...args: string[]): Promise<boolean> => (await baton(...args)).result.code === 0;

  let load: RunningLoad | undefined;
  try {
    if (!(await ok('release', 'create'))) return round;
    if (!(await ok('deploy'))) return round;
    load = startLoad({ url: `http://127.0.0.1:${port}`, requests: [{ path: '/hello' }], connections: 4, ratePerSecond: 40, maxDurationMs: 120_000, maxRequests: 20_000, timeoutMs: 10_000 });
    await load.waitForResponses(40, 30_000);
    // The same image under a new version label: the same digest, recorded as v2.
    if (!(await ok('release', 'create', '--release', 'v2'))) return round;
    if (!(await ok('deploy', '--release', 'v2'))) return round;
    for (let i = 0; i < 6; i++) round.releasesAnswering.push(await readyRelease(port));
    round.containers = await runningContainerReleases(engine.socketPath, service);
    // The load goes on a moment after v1's containers left.
    await load.waitForResponses(load.responses() + 40, 30_000);
    round.load = await load.stop();
    // Both only read the state directory: side by side, one CLI start's time.
    const [listed, table] = await Promise.all([baton('releases', '--json'), baton('releases')]);
    if (listed.result.code === 0) round.releases = JSON.parse(listed.result.stdout) as NonNullable<DockerRound['releases']>;
    if (table.result.code === 0) round.releasesTable = table.result.stdout;
    return round;
  } finally {
    if (load !== undefined && round.load === undefined) round.load = await load.stop();
    await baton('down');
    // What `baton down` left is the finding; removing it is the clean-up, also after a failed round.
    round.containersLeft = await removeContainersLabelled(engine, `baton.service=${service}`);
    // Its tag follows the tarballs' content, so a later run of changed packages builds another: this one goes.
    await removeImage(engine.socketPath, image.tag);
    round.ms = Date.now() - started;
  }
}

/** One Engine API call over the engine's unix socket: the answer's status and body. */
function engineCall(socketPath: string, method: 'GET' | 'DELETE', path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ socketPath, method, path, timeout: 60_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${path}: no answer from the engine at ${socketPath} within 60 s`)));
    request.on('error', reject);
    request.end();
  });
}

/** The `baton.release` label of each running container labelled with the service, as `docker ps` would show them. */
async function runningContainerReleases(socketPath: string, service: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`baton.service=${service}`], status: ['running'] }));
  const answer = await engineCall(socketPath, 'GET', `/containers/json?filters=${filters}`);
  if (answer.status !== 200) throw new Error(`listing the containers of ${service}: the engine answered ${answer.status}: ${answer.body}`);
  return (JSON.parse(answer.body) as { Labels: Record<string, string> }[]).map((container) => container.Labels['baton.release'] ?? '(no baton.release label)').sort();
}

/** `DELETE /images/<tag>`; an image already gone (404) is fine. */
async function removeImage(socketPath: string, tag: string): Promise<void> {
  const answer = await engineCall(socketPath, 'DELETE', `/images/${encodeURIComponent(tag)}`);
  if (answer.status !== 200 && answer.status !== 404) throw new Error(`removing the image ${tag}: the engine answered ${answer.status}: ${answer.body}`);
}

/** The `releaseId` of one `/readyz` answer through the router (the instance's RELEASE), or what came instead. */
async function readyRelease(port: number): Promise<string> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    const body = (await response.json()) as { releaseId?: string };
    return response.status === 200 ? (body.releaseId ?? '(no releaseId)') : `(status ${response.status})`;
  } catch (error) {
    return `(${(error as Error).message})`;
  }
}

/** The round's commands, and the output of the one that failed, for an assertion message. */
export function describeDockerRound(round: DockerRound): string {
  const lines = [`service ${round.service} on Docker, image ${round.image.tag} (${round.image.id}):`];
  for (const step of round.steps) {
    lines.push(`  $ ${step.command}  → exit ${step.result.code ?? step.result.signal} in ${step.result.ms} ms`);
    if (step === round.failed) lines.push(step.result.stdout.trim(), step.result.stderr.trim());
  }
  if (round.load !== undefined) {
    const report = round.load;
    lines.push(`  load: ${report.sent} sent, ${report.ok} ok, ${report.failed} failed (statuses ${JSON.stringify(report.statuses)}), first failures ${JSON.stringify(report.failures.slice(0, 5))}`);
  }
  if (round.releasesTable !== undefined) lines.push(round.releasesTable.trim());
  return lines.join('\n');
}

/** One line for the run's log: the image build, each command's time, the load's count, the whole round. */
export function summarizeDockerRound(round: DockerRound): string {
  const steps = round.steps.map((step) => `${step.command.replace('npx baton ', '')} ${(step.result.ms / 1000).toFixed(1)} s${step.result.code === 0 ? '' : ` (exit ${step.result.code ?? step.result.signal})`}`);
  const load = round.load === undefined ? 'no load' : `load ${round.load.sent} sent, ${round.load.failed} failed`;
  return `consumer test: Docker round: image ${(round.imageMs / 1000).toFixed(1)} s, ${steps.join(', ')}; ${load}; ${(round.ms / 1000).toFixed(1)} s in all`;
}

// The consumer test: Baton as a user gets it from npm. Every public package is
// packed (`pnpm pack`), then installed with plain `npm install` of the
// tarballs into fresh projects under the OS temp dir — no workspace links, no
// hoisting, none of the monorepo's TypeScript settings. There the root
// README's install section is run as written: its Express app (on Express 5
// and 4), its Fastify app and its CommonJS app; strict TypeScript consumers
// with and without the optional peers; `npx baton` deploys of each app,
// on the machine's Node 20 and on the current LTS (the `node` package); and,
// where Docker runs, one app deployed as containers (@baton/platform-docker).
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haproxyInstalled } from '@baton/router-haproxy';
import { dockerUnavailable } from '@baton/testing/docker';
import { nginxInstalled } from '@baton/router-nginx';
import { runAppChecks, type AppRun } from './app-checks.js';
import { describeCommand, runCommand } from './commands.js';
import { createConsumerProjects, deployConfigFor, LTS_NODE_MAJOR, type ConsumerProjects, type NodeLine } from './consumer-projects.js';
import { deployRound, describeRound, summarizeRound, type DeployRound } from './deploy-scenario.js';
import { describeDockerRound, dockerRound, summarizeDockerRound } from './docker-round.js';
import { packPublicPackages, PUBLIC_PACKAGES, type PublicPackage, type Tarball } from './pack.js';
import { pipelineRound } from './pipeline-round.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** The deploys wait on facts (commands' exits, load counts) and took 3 min beside stress-ng: this bound only decides how soon a hang is reported. */
const DEPLOYS_TIMEOUT_MS = 600_000;
/** Why Docker engines cannot run here (the Docker round is skipped, with this in its name), or undefined. */
const DOCKER_SKIP = dockerUnavailable();

let root: string;
let tarballs: Record<PublicPackage, Tarball>;
let projects: ConsumerProjects;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-consumer-'));
  // Outside the monorepo, or Node would resolve the monorepo's node_modules from the projects.
  if (!relative(REPO, root).startsWith('..')) throw new Error(`the temp dir ${root} is inside the repository ${REPO}: set TMPDIR elsewhere`);
  tarballs = await packPublicPackages(join(root, 'tarballs'));
  projects = await createConsumerProjects(root, tarballs);
  console.log(figures());
}, 600_000);

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

/** The figures the issue asks for: tarball sizes, install time and node_modules size of the smallest and the fullest user. */
function figures(): string {
  const lines = ['consumer test: tarballs (pnpm pack)'];
  for (const name of PUBLIC_PACKAGES) lines.push(`  ${tarballs[name].name.padEnd(18)} ${String(Math.round(tarballs[name].bytes / 102.4) / 10).padStart(6)} kB  ${tarballs[name].files} files`);
  const measured = (label: string, project: ConsumerProjects['minimal']): string =>
    `  ${label}: npm install ${(project.installMs / 1000).toFixed(1)} s, node_modules ${(project.nodeModulesKb / 1024).toFixed(1)} MB (du -sk ${project.nodeModulesKb}) — ${project.specs.map((spec) => spec.replace(/^.*\//, '')).join(' ')}`;
  lines.push(measured('minimal Express user', projects.minimal), measured('user of everything', projects.everything));
  lines.push(`  Node LTS: ${projects.lts.version}; native addons: ${projects.nativeAddons.length === 0 ? 'none' : projects.nativeAddons.join(', ')}`);
  return lines.join('\n');
}

describe('the packed packages in a user project outside the monorepo', () => {
  it("the minimal Express user's install brings no optional peer; the only native addon is N-API (ABI-stable: one install serves both Nodes)", () => {
    const installed = (dir: string, name: string): boolean => existsSync(join(dir, 'node_modules', name, 'package.json'));
    for (const name of ['@baton/metrics', '@baton/toggles', '@baton/versioning', 'prom-client', 'unleash-client']) {
      expect(installed(projects.minimal.dir, name), `${name} in the minimal user's node_modules`).toBe(false);
    }
    // The one native addon expected is Pact's (a peer of @baton/contracts), built for N-API. ssh2
    // (under @baton/platform-docker's dockerode) builds two optional accelerators for the installing
    // Node, sshcrypto and cpu-features; it loads them in a try and falls back to JavaScript — the
    // next case proves the package loads and works on the other Node of the same install.
    const optionalAccelerators = /node_modules\/(?:ssh2|cpu-features)\//;
    expect(projects.nativeAddons.filter((file) => !/napi/.test(file) && !optionalAccelerators.test(file)), 'native addons tied to one Node ABI').toEqual([]);
  });

  it(`@baton/platform-docker, installed on Node 20 (its ssh2 accelerators built for Node 20), loads on Node ${LTS_NODE_MAJOR} and checks a config`, async () => {
    const script = [
      "const { platformProvider } = await import('@baton/platform-docker');",
      "const { Client, utils } = await import('ssh2').then((m) => m.default ?? m);",
      "if (typeof Client !== 'function' || typeof utils.parseKey !== 'function') throw new Error('ssh2 did not load');",
      "try { platformProvider.create({ service: 'orders', dir: '/tmp/none', artifactsDir: '/tmp/none', options: { hosts: [{ docker: 'ftp://x' }] }, port: 'announce', listenTimeoutMs: 1000, routerDrainsFirst: true }); }",
      "catch (error) { console.log(error.code); }",
    ].join('\n');
    const result = await runCommand(projects.lts.node, ['--input-type=module', '-e', script], { cwd: projects.everything.dir, timeoutMs: 60_000 });
    expect(result.code, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout.trim()).toBe('BATON_ERR_DEPLOY_CONFIG');
  });

  it.each([
    ['every optional peer installed', () => projects.everything.dir],
    ['no optional peer installed', () => projects.minimal.dir],
  ])('types compile in a strict project (skipLibCheck: false, nodenext) with %s, on the newest TypeScript and on 5.x', async (_, dir) => {
    for (const compiler of ['typescript', 'typescript5']) {
      const result = await runCommand(process.execPath, [join('node_modules', compiler, 'bin', 'tsc'), '-p', '.'], { cwd: dir(), timeoutMs: 120_000 });
      expect(result.code, `${describeCommand(compiler, ['-p', '.'], { cwd: dir() })}:\n${result.stdout}${result.stderr}`).toBe(0);
    }
  });

  const nodeOf = (line: NodeLine): string => (line === 'node20' ? process.execPath : projects.lts.node);
  const labelOf = (line: NodeLine): string => (line === 'node20' ? `Node ${process.versions.node}` : `Node ${projects.lts.version.slice(1)} (LTS)`);

  it(`the README's apps on Node 20 and Node ${LTS_NODE_MAJOR}: probes, /metrics by release, SIGTERM during a slow request lets it finish and exits 0`, async () => {
    const apps = (['node20', 'lts'] as const).flatMap((line) => [
      ...projects.apps.filter((app) => app.node === line).map((app) => ({ name: app.name, line, cwd: app.dir, script: app.script, metrics: true })),
      { name: 'commonjs', line, cwd: projects.commonjsDir, script: 'app.cjs', metrics: false },
    ]);
    const runs = await Promise.all(apps.map(async (app) => [app, await runAppChecks({ node: nodeOf(app.line), cwd: app.cwd, script: app.script, metrics: app.metrics, release: 'v7' })] as const));
    for (const [app, run] of runs) {
      const about = `${app.name} on ${labelOf(app.line)}; its output:\n${run.output}`;
      expect(run.probes, about).toEqual({ '/livez': 200, '/readyz': 200, '/startupz': 200 });
      expect(run.hello, about).toBe(200);
      expect(run.listening['release'], `the startup line carries RELEASE: ${about}`).toBe('v7');
      if (app.metrics) {
        expect(run.metrics?.status, about).toBe(200);
        expect(run.metrics?.helloLine, `/metrics counts GET /hello by release: ${about}`).toMatch(/release="v7"/);
      }
      // require() of the ES modules is plain on Node >= 20.19: no experimental warning for the user to wonder about.
      if (app.name === 'commonjs') expect(run.output, about).not.toMatch(/ExperimentalWarning/);
      expect(run.readyDuringDrain, about).toBe(503);
      expect(run.slow, about).toEqual({ status: 200, body: '{"slow":true}' });
      expect(run.exit, about).toEqual({ code: 0, signal: null } satisfies AppRun['exit']);
    }
  });

  it('npx baton k8s render from the packed @baton/k8s: a canary Rollout with its AnalysisTemplate, valid YAML; without @baton/k8s, a clear line of what to install', async () => {
    const dir = await mkdtemp(join(projects.everything.dir, 'k8s-'));
    await writeFile(
      join(dir, 'baton.config.json'),
      JSON.stringify({
        service: 'hello',
        release: { version: 'v2', command: 'node', args: ['app.js'] },
        strategy: { type: 'canary', steps: [{ setWeight: 25 }, { analysis: { durationMs: 60000 } }] },
        kubernetes: { prometheus: { address: 'http://prometheus:9090' } },
      }),
    );
    const image = `registry.example.com/hello@sha256:${'d'.repeat(64)}`;
    const rendered = await runCommand('npx', ['--no', 'baton', 'k8s', 'render', '--image', image], { cwd: dir, timeoutMs: 120_000 });
    const about = `${describeCommand('npx', ['--no', 'baton', 'k8s', 'render', '--image', image], { cwd: dir })}:\n${rendered.stdout}${rendered.stderr}`;
    expect(rendered.code, about).toBe(0);
    expect(rendered.stdout.match(/^kind: \w+$/gm), about).toEqual(['kind: Rollout', 'kind: Service', 'kind: Service', 'kind: Service', 'kind: AnalysisTemplate', 'kind: PodDisruptionBudget']);
    expect(rendered.stdout, about).toContain(`image: ${image}`);
    expect(rendered.stdout, about).toContain('templateName: hello-judge-60s');

    // The express4 project installed the CLI without @baton/k8s: the command says what to add, and writes nothing.
    const app = projects.apps.find((candidate) => candidate.name === 'express4' && candidate.node === 'node20');
    if (app === undefined) throw new Error('no express4 app on Node 20');
    const missing = await runCommand('npx', ['--no', 'baton', 'k8s', 'render', '--image', image], { cwd: app.dir, timeoutMs: 120_000 });
    expect(missing.code, `${missing.stdout}${missing.stderr}`).toBe(3);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('@baton/k8s is not installed');
    expect(missing.stderr).toContain('pnpm add -D @baton/k8s');
  }, DEPLOYS_TIMEOUT_MS);

  it('a router the project did not install is a clear error that starts nothing: router.kind nginx in the project with only @baton/router-haproxy', async () => {
    const app = projects.apps.find((candidate) => candidate.name === 'express4' && candidate.node === 'node20');
    if (app === undefined) throw new Error('no express4 app on Node 20');
    const dir = await mkdtemp(join(app.dir, '..', 'no-nginx-'));
    await writeFile(join(dir, 'baton.config.json'), deployConfigFor(app, { router: { kind: 'nginx', port: 0 }, strategy: { type: 'rolling' } }));
    const result = await runCommand('npx', ['--no', 'baton', 'deploy'], { cwd: dir, timeoutMs: 120_000 });
    const about = `${describeCommand('npx', ['--no', 'baton', 'deploy'], { cwd: dir })}:\n${result.stdout}${result.stderr}`;
    expect(result.code, about).not.toBe(0);
    expect(result.stderr, about).toContain('router.kind nginx needs the package @baton/router-nginx, which is not installed here: npm install --save-dev @baton/router-nginx');
    // Nothing started: no router directory, no instance.
    expect(existsSync(join(dir, '.baton', 'hello-express4', 'r')), about).toBe(false);
    expect(existsSync(join(dir, '.baton', 'hello-express4', 'instances', 'instances')) ? await readdir(join(dir, '.baton', 'hello-express4', 'instances', 'instances')) : [], about).toEqual([]);
  });

  it(`npx baton deploy of each app on Node 20 and Node ${LTS_NODE_MAJOR}: rolling and canary behind the built-in router, then after baton down behind HAProxy (and nginx, where the project installed it); 0 failed requests`, async () => {
    if (!haproxyInstalled()) console.log('consumer test: haproxy is not installed (apt-get install haproxy; .ci/run does) — only the built-in router is tested');
    if (!nginxInstalled()) console.log('consumer test: nginx is not installed (apt-get install nginx; .ci/run does) — the nginx rounds are skipped');
    // Each app and Node line has its own directory, state and ports: all side by side. One app's routers one after the other, in its one state directory.
    const rounds = (
      await Promise.all(
        projects.apps.map(async (app) => {
          const done: DeployRound[] = [];
          // The express4 project installed only the HAProxy router beside the CLI's built-in one; the others installed every package.
          const routers = [
            'builtin' as const,
            ...(haproxyInstalled() ? (['haproxy'] as const) : []),
            ...(nginxInstalled() && app.name !== 'express4' && app.node === 'node20' ? (['nginx'] as const) : []),
          ];
          for (const router of routers) {
            const strategies = router === 'haproxy' ? (['canary', 'rolling'] as const) : (['rolling', 'canary'] as const);
            done.push(await deployRound(app, { router, strategies: [...strategies], pathFirst: app.node === 'node20' ? [] : [projects.lts.binDir] }));
          }
          return done;
        }),
      )
    ).flat();
    console.log(['consumer test: npx baton rounds', ...rounds.map(summarizeRound)].join('\n'));
    for (const round of rounds) {
      const about = describeRound(round);
      expect(round.failed, about).toBeUndefined();
      expect(round.load?.failed, about).toBe(0);
      expect(round.load?.ok, about).toBeGreaterThan(80);
      expect(round.status?.stable, about).toBe('v3');
      expect(round.status?.instances?.map((instance) => instance.release), about).toEqual(['v3', 'v3']);
      expect(new Set(round.status?.router?.backends?.filter((backend) => backend.weight > 0).map((backend) => backend.release)), about).toEqual(new Set(['v3']));
      // `node` in the config is the one first on PATH: the instances ran on the Node under test.
      const expectedNode = await realpath(nodeOf(round.node));
      expect(round.instanceNodes, about).toEqual([expectedNode, expectedNode]);
      expect(round.routerPortClosed, `after baton down: ${about}`).toBe(true);
      // Down leaves nothing running, and says what was serving last.
      expect(round.statusAfterDown, `status after baton down: ${about}`).toMatchObject({ down: { release: 'v3' }, instances: [] });
      expect(round.statusAfterDown?.router, `status after baton down: ${about}`).toBeUndefined();
    }
  }, DEPLOYS_TIMEOUT_MS);

  it('npx baton with environments: staging then production, the migrations gate loaded from the project\'s own @baton/migrations refusing a contract step in production while v1 runs there', async () => {
    const app = projects.apps.find((candidate) => candidate.name === 'express5' && candidate.node === 'node20');
    if (app === undefined) throw new Error('no express5 app on Node 20');
    const round = await pipelineRound(join(projects.everything.dir, 'pipeline'), join(app.dir, app.script));
    const about = round.steps.map((step) => `$ ${step.command} → exit ${step.result.code}\n${step.result.stdout.trim().split('\n').slice(-12).join('\n')}\n${step.result.stderr.trim()}`).join('\n');
    expect(round.steps.map((step) => `${step.command} → ${step.result.code}`), about).toEqual([
      'npx baton deploy --env staging → 0',
      'npx baton promote v1 --to production → 0',
      'npx baton deploy --env staging --release v2 → 0',
      'npx baton deploy --env staging --release v3 → 0',
      'npx baton promote v3 --to production → 5',
      'npx baton history --env production --json → 0',
      'npx baton down --env staging → 0',
      'npx baton down --env production → 0',
    ]);
    const refused = round.steps[4]?.result;
    expect(refused?.stdout, about).toMatch(/Gate migrations: fail — .*v1/);
    expect(refused?.stdout, about).toContain('002_drop_text.sql');
    expect(round.productionHistory, about).toEqual(['v3 promote refused', 'v1 promote succeeded']);
  }, DEPLOYS_TIMEOUT_MS);

  it.skipIf(DOCKER_SKIP !== undefined)(
    `npx baton deploy with @baton/platform-docker: the README's Express app as 2 containers of an image built from the project's node_modules, v1 then v2 of the same image under load; 0 failed requests, both releases listed with the image's digest, nothing left after baton down${DOCKER_SKIP === undefined ? '' : ` (skipped: ${DOCKER_SKIP})`}`,
    async () => {
      const app = projects.apps.find((candidate) => candidate.name === 'express5' && candidate.node === 'node20');
      if (app === undefined) throw new Error('no express5 app on Node 20');
      const round = await dockerRound({ projectDir: projects.everything.dir, entry: join(app.dir, app.script) });
      console.log(summarizeDockerRound(round));
      const about = describeDockerRound(round);
      expect(round.failed, about).toBeUndefined();
      expect(round.load?.failed, about).toBe(0);
      expect(round.load?.ok, about).toBeGreaterThan(80);
      expect(round.containers, `running containers labelled baton.service=${round.service} on the engine after the v2 deploy: ${about}`).toEqual(['v2', 'v2']);
      expect(round.releasesAnswering, `/readyz through the router after the v2 deploy: ${about}`).toEqual(Array(6).fill('v2'));
      const listed = round.releases?.releases.map(({ version, artifact, role, running }) => ({ version, artifact: artifact && { kind: artifact.kind, digest: artifact.digest, source: artifact.source }, role, running }));
      expect(listed, about).toEqual([
        { version: 'v1', artifact: { kind: 'image', digest: round.image.id, source: round.image.tag }, role: 'previous', running: 0 },
        { version: 'v2', artifact: { kind: 'image', digest: round.image.id, source: round.image.tag }, role: 'serving', running: 2 },
      ]);
      // The table a user reads: a row per version, each naming the image's digest.
      const digest = round.image.id.slice(0, 'sha256:'.length + 12);
      expect(round.releasesTable?.split('\n').filter((line) => /^v[12]\s/.test(line) && line.includes(digest)).map((line) => line.split(/\s/)[0]), about).toEqual(['v1', 'v2']);
      expect(round.containersLeft, `containers labelled baton.service=${round.service} after baton down: ${about}`).toBe(0);
    },
    DEPLOYS_TIMEOUT_MS,
  );
});

// Users' projects, made from the packed tarballs with plain `npm install` in
// a fresh directory under the OS temp dir: no workspace, no hoisting, nothing
// resolved from the monorepo's node_modules.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { diskKb, mustRun } from './commands.js';
import { PUBLIC_PACKAGES, type PublicPackage, type Tarball } from './pack.js';
import { appWithSlowRoute, readmeSnippet } from './readme-snippets.js';
import { ALL_PEERS_SOURCE, NO_PEERS_SOURCE, strictTsconfig } from './typed-consumers.js';

/** The Node LTS line run besides the machine's Node 20: 26 became Active LTS in October 2026 (24 is in maintenance). */
export const LTS_NODE_MAJOR = 26;

/** A project and what installing its runtime dependencies cost. */
export interface InstalledProject {
  dir: string;
  /** `npm install` of the runtime dependencies (npm's cache warm after the first run). */
  installMs: number;
  /** `du -sk node_modules` right after that install. */
  nodeModulesKb: number;
  /** What it installed. */
  specs: string[];
}

/** The Node versions everything runs on: the machine's (20) and the LTS from npm. */
export type NodeLine = 'node20' | 'lts';

/**
 * An app of the README for one Node line: its directory (its baton.config.json
 * and .baton/ state go there, so the two lines deploy side by side) and its script.
 */
export interface ConsumerApp {
  name: 'express5' | 'express4' | 'fastify5';
  node: NodeLine;
  dir: string;
  script: 'app.js';
}

export interface ConsumerProjects {
  /** @baton/express alone and express: the smallest user. Later also @baton/fastify, fastify and TypeScript for the no-peers typecheck, and the CommonJS app. */
  minimal: InstalledProject;
  /** Every public package, Express 5, Fastify 5 and the optional peers' libraries: the README's Express and Fastify apps, their deploys, the all-peers typecheck. */
  everything: InstalledProject;
  /** The README's Express app on Express 4 with @baton/metrics, then the CLI and the HAProxy router as devDependencies, as the README installs them. */
  express4: InstalledProject;
  apps: ConsumerApp[];
  /** The CommonJS app's directory (in `minimal`): app.cjs. */
  commonjsDir: string;
  /** The directory holding the LTS Node binary (put first on PATH), and its version. */
  lts: { binDir: string; node: string; version: string };
  /** Native addons under each project's node_modules (paths), decided on before reusing them on another Node. */
  nativeAddons: string[];
}

const NPM_INSTALL = ['install', '--no-audit', '--no-fund', '--prefer-offline'];
/** Pact's telemetry postinstall (pulled in as a peer of @baton/contracts) stays off; the `node` package's install script places the binary. */
const ALLOW_SCRIPTS = { '@scarf/scarf': false, node: true };
/** TypeScript for the typed consumers: the newest release and the last 5.x, which many projects still use. */
const TYPESCRIPT_DEV = ['typescript@latest', 'typescript5@npm:typescript@5', '@types/node@20', '@types/express@5'];

async function createProject(dir: string, name: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name, version: '1.0.0', private: true, type: 'module', allowScripts: ALLOW_SCRIPTS }, null, 2)}\n`);
}

async function install(dir: string, specs: string[], dev = false): Promise<number> {
  const result = await mustRun('npm', [...NPM_INSTALL, ...(dev ? ['--save-dev'] : []), ...specs], { cwd: dir, timeoutMs: 300_000 });
  return result.ms;
}

async function installProject(dir: string, name: string, specs: string[]): Promise<InstalledProject> {
  await createProject(dir, name);
  const installMs = await install(dir, specs);
  return { dir, installMs, nodeModulesKb: await diskKb(join(dir, 'node_modules')), specs };
}

/** Every `.node` file under `dir`. */
async function findNativeAddons(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((entry) => entry.endsWith('.node')).map((entry) => join(dir, entry));
}

/**
 * Makes the projects under `root` from `tarballs`. The two measured installs
 * (minimal, everything) run one after the other, alone; the rest side by side.
 */
export async function createConsumerProjects(root: string, tarballs: Record<PublicPackage, Tarball>): Promise<ConsumerProjects> {
  const tgz = (...names: PublicPackage[]): string[] => names.map((name) => tarballs[name].file);
  const minimal = await installProject(join(root, 'minimal'), 'minimal-user', [...tgz('express', 'lifecycle'), 'express@5']);
  const everything = await installProject(join(root, 'everything'), 'everything-user', [
    ...tgz(...PUBLIC_PACKAGES),
    'express@5',
    'fastify@5',
    'prom-client@15',
    'unleash-client@6',
  ]);

  const ltsDir = join(root, `node-${LTS_NODE_MAJOR}`);
  const [express4] = await Promise.all([
    (async () => {
      const project = await installProject(join(root, 'express4'), 'express4-user', [...tgz('express', 'lifecycle', 'metrics'), 'express@4', 'prom-client@15']);
      // As the README installs it: the CLI, the config's types, and the one router beside the built-in one it uses.
      // The CLI's own dependencies (the built-in router, the local platform) come from the registry for a user;
      // here, before a release, they come from their tarballs.
      await install(project.dir, tgz('cli', 'deploy', 'router-haproxy', 'router-builtin', 'platform-local'), true);
      return project;
    })(),
    (async () => {
      await install(minimal.dir, [...tgz('fastify'), 'fastify@5']);
      await install(minimal.dir, TYPESCRIPT_DEV, true);
    })(),
    install(everything.dir, TYPESCRIPT_DEV, true),
    (async () => {
      await createProject(ltsDir, 'node-lts');
      await install(ltsDir, [`node@${LTS_NODE_MAJOR}`]);
    })(),
  ]);

  // The README's apps, each in a directory of its own (its baton.config.json and .baton/ state go there).
  const apps: ConsumerApp[] = [];
  for (const node of ['node20', 'lts'] as const) {
    apps.push(
      { name: 'express5', node, dir: join(everything.dir, `express5-${node}`), script: 'app.js' },
      { name: 'fastify5', node, dir: join(everything.dir, `fastify5-${node}`), script: 'app.js' },
      { name: 'express4', node, dir: join(express4.dir, `express4-${node}`), script: 'app.js' },
    );
  }
  for (const app of apps) {
    await mkdir(app.dir, { recursive: true });
    await writeFile(join(app.dir, app.script), appWithSlowRoute(app.name === 'fastify5' ? 'fastify-app' : 'express-app'));
  }
  await writeFile(join(minimal.dir, 'app.cjs'), appWithSlowRoute('commonjs-app'));

  // The typed consumers; the plain-JavaScript apps are type-checked too (checkJs), as an editor would.
  await mkdir(join(everything.dir, 'src'), { recursive: true });
  await writeFile(join(everything.dir, 'src', 'service.ts'), ALL_PEERS_SOURCE);
  await writeFile(join(everything.dir, 'tsconfig.json'), strictTsconfig(['src', 'express5-node20', 'fastify5-node20'], { allowJs: true, checkJs: true }));
  await mkdir(join(minimal.dir, 'src'), { recursive: true });
  await writeFile(join(minimal.dir, 'src', 'service.ts'), NO_PEERS_SOURCE);
  await writeFile(join(minimal.dir, 'tsconfig.json'), strictTsconfig(['src', 'app.cjs'], { allowJs: true, checkJs: true }));

  const binDir = join(ltsDir, 'node_modules', 'node', 'bin');
  const node = join(binDir, 'node');
  const version = (await mustRun(node, ['--version'], { cwd: ltsDir })).stdout.trim();
  const nativeAddons = (await Promise.all([minimal.dir, everything.dir, express4.dir].map((dir) => findNativeAddons(join(dir, 'node_modules'))))).flat();
  return { minimal, everything, express4, apps, commonjsDir: minimal.dir, lts: { binDir, node, version }, nativeAddons: nativeAddons.map((file) => relative(root, file)) };
}

/** The README's deploy config for `app`, with what the test sets: its name, 2 instances, the router and its port, the strategy. */
export function deployConfigFor(app: ConsumerApp, overrides: { router: { kind: 'builtin' | 'haproxy' | 'nginx'; port: number }; strategy: unknown; analysis?: unknown }): string {
  const config = JSON.parse(readmeSnippet('deploy-config')) as Record<string, unknown>;
  return `${JSON.stringify({ ...config, service: `hello-${app.name}`, instances: 2, ...overrides }, null, 2)}\n`;
}

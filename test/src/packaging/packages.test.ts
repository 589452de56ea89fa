// Every public package, packed as it is published, works alone: built output,
// types, the sources its maps point at, README, LICENSE and metadata; nothing
// test-only; every import declared; publint and attw clean. And the release
// path: `pnpm release --dry-run` and the Changesets version plan.
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBarePackage, isRelative, moduleSpecifiers, packageNameOf } from './module-specifiers.js';
import { formatBytes, packAndExtract, run, type Tarball } from './tarball.js';
import { declaredImports, PACKAGES_DIR, publicPackages, readManifest, REPO_ROOT, workspacePackages, type Manifest } from './workspace.js';

const BIN = join(REPO_ROOT, 'node_modules', '.bin');
const REPOSITORY_URL = 'git+https://github.com/baton-dev/baton.git';
const PUBLIC = publicPackages();
const INTERNAL = new Map(PUBLIC.map((pkg) => [pkg.manifest.name, pkg.manifest.version]));

/** Paths a published package must never hold: tests, fixtures, build state, config of the monorepo. */
const FORBIDDEN = [
  /\.test[.-]/, // x.test.ts, x.test.util.ts, x.test-helper.ts
  /(^|\/)(fixtures?|__fixtures__|__tests__|tests?)\//,
  /\.tsbuildinfo$/,
  /(^|\/)tsconfig[^/]*\.json$/,
  /(^|\/)vitest\.config\./,
  /(^|\/)node_modules\//,
  /\.tgz$/,
];

describe('packed public packages', () => {
  let workDir: string;
  const tarballs = new Map<string, Tarball>();

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'baton-packaging-'));
    // One after another: each prepack runs `tsc -b`, which also builds the
    // project references; two at once could write the same dist/ together.
    for (const { dir } of PUBLIC) tarballs.set(dir, await packAndExtract(join(PACKAGES_DIR, dir), workDir));
  }, 300_000);

  afterAll(async () => {
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  const tarball = (dir: string): Tarball => {
    const found = tarballs.get(dir);
    if (found === undefined) throw new Error(`${dir} was not packed`);
    return found;
  };
  const packedManifest = (dir: string): Manifest => readManifest(join(tarball(dir).root, 'package.json'));

  it('are the sixteen packages a user installs; the test helpers stay private', () => {
    expect(PUBLIC.map((pkg) => pkg.dir)).toEqual(['cli', 'contracts', 'deploy', 'express', 'fastify', 'k8s', 'lifecycle', 'metrics', 'migrations', 'platform-docker', 'platform-local', 'router-builtin', 'router-haproxy', 'router-nginx', 'toggles', 'versioning']);
    expect(workspacePackages().find((pkg) => pkg.dir === 'testing')?.manifest.private).toBe(true);
  });

  describe.each(PUBLIC.map((pkg) => pkg.dir))('@baton/%s', (dir) => {
    it('holds built output, types, README, LICENSE and every export and bin target; nothing test-only', () => {
      const { files, root } = tarball(dir);
      const paths = new Set(files.map((file) => file.path));
      const manifest = packedManifest(dir);
      for (const required of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) expect(paths, required).toContain(required);
      expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toBe(readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8'));
      for (const target of [...exportTargets(manifest.exports), ...Object.values(manifest.bin ?? {})]) {
        expect(paths, `${target} (exports/bin)`).toContain(posix.normalize(target));
      }
      expect([...paths].filter((path) => FORBIDDEN.some((pattern) => pattern.test(path)))).toEqual([]);
    });

    it('ships no stale build output: each dist file has its source beside it, and each .js its .d.ts', () => {
      const paths = new Set(tarball(dir).files.map((file) => file.path));
      const orphans = [...paths]
        .filter((path) => path.startsWith('dist/'))
        .map((path) => ({ path, source: path.replace(/^dist\//, 'src/').replace(/(\.d)?\.[jt]s(\.map)?$/, '.ts') }))
        .filter(({ source }) => !paths.has(source));
      expect(orphans).toEqual([]);
      const untyped = [...paths].filter((path) => path.startsWith('dist/') && path.endsWith('.js') && !paths.has(path.replace(/\.js$/, '.d.ts')));
      expect(untyped).toEqual([]);
    });

    it('source maps and declaration maps point at files in the tarball', async () => {
      const { files, root } = tarball(dir);
      const paths = new Set(files.map((file) => file.path));
      const dangling: string[] = [];
      for (const { path } of files) {
        if (/\.(js|d\.ts)$/.test(path)) {
          const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(await readFile(join(root, path), 'utf8'))?.[1];
          if (url !== undefined && !paths.has(posix.join(posix.dirname(path), url))) dangling.push(`${path} → ${url}`);
        }
        if (path.endsWith('.map')) {
          const map = JSON.parse(await readFile(join(root, path), 'utf8')) as { sources: string[]; sourceRoot?: string };
          for (const source of map.sources) {
            const target = posix.join(posix.dirname(path), map.sourceRoot ?? '', source);
            if (!paths.has(target)) dangling.push(`${path} → ${source}`);
          }
        }
      }
      expect(dangling).toEqual([]);
    });

    it('imports only itself, Node builtins and what its package.json declares; relative imports resolve', async () => {
      const { files, root } = tarball(dir);
      const manifest = packedManifest(dir);
      const declared = declaredImports(manifest);
      const paths = new Set(files.map((file) => file.path));
      const problems: string[] = [];
      for (const { path } of files.filter((file) => file.path.startsWith('dist/') && /\.(js|d\.ts)$/.test(file.path))) {
        for (const specifier of moduleSpecifiers(await readFile(join(root, path), 'utf8'))) {
          if (isRelative(specifier)) {
            const target = posix.join(posix.dirname(path), specifier);
            // A declaration file's `./x.js` is typed by `./x.d.ts`.
            const candidates = path.endsWith('.d.ts') ? [target, target.replace(/\.js$/, '.d.ts')] : [target];
            if (!candidates.some((candidate) => paths.has(candidate))) problems.push(`${path}: ${specifier} is not in the tarball`);
          } else if (isBarePackage(specifier) && !declared.has(packageNameOf(specifier))) {
            problems.push(`${path}: imports ${specifier}, which package.json does not declare`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('provides the required peers of its dependencies (as @baton/metrics needs prom-client)', () => {
      const manifest = packedManifest(dir);
      const provided = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
      const missing: string[] = [];
      for (const dependency of Object.keys(manifest.dependencies ?? {})) {
        // The installed dependency, as pnpm linked it for this package.
        const installed = readManifest(join(PACKAGES_DIR, dir, 'node_modules', dependency, 'package.json'));
        for (const peer of Object.keys(installed.peerDependencies ?? {})) {
          if (installed.peerDependenciesMeta?.[peer]?.optional !== true && !provided.has(peer)) missing.push(`${peer} (a peer of ${dependency})`);
        }
      }
      expect(missing).toEqual([]);
    });

    it('package.json: metadata for the registry, real ranges for Baton packages (never workspace:), a prepack that builds', async () => {
      const manifest = packedManifest(dir);
      const text = await readFile(join(tarball(dir).root, 'package.json'), 'utf8');
      expect(text).not.toContain('workspace:');
      expect(manifest).toMatchObject({
        license: 'MIT',
        author: 'the Baton authors',
        type: 'module',
        repository: { type: 'git', url: REPOSITORY_URL, directory: `packages/${dir}` },
        bugs: { url: expect.stringMatching(/^https:\/\/.+\/issues$/) },
        homepage: expect.stringContaining(`/packages/${dir}`),
        engines: { node: expect.any(String) },
        publishConfig: { access: 'public' },
      });
      expect(manifest.description).toEqual(expect.any(String));
      expect(manifest.keywords).toContain('baton');
      for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
        // A caret range lets npm put one copy of @baton/lifecycle under an app.
        if (INTERNAL.has(name)) expect(range, `dependencies.${name}`).toBe(`^${INTERNAL.get(name)}`);
      }
      for (const [name, range] of Object.entries(manifest.peerDependencies ?? {})) {
        if (INTERNAL.has(name)) expect(range, `peerDependencies.${name}`).toBe(internalPeerRange(INTERNAL.get(name) ?? ''));
      }
      // pnpm strips lifecycle scripts from the packed manifest; the source one must build before packing.
      const source = readManifest(join(PACKAGES_DIR, dir, 'package.json'));
      expect(source.scripts?.prepack).toBe('pnpm run build');
      expect(source.scripts?.build).toBe('tsc -b');
    });

    it('publint (strict, suggestions included) finds nothing', async () => {
      const { stdout } = await run(join(BIN, 'publint'), ['run', tarball(dir).file, '--strict', '--level', 'suggestion'], { cwd: REPO_ROOT });
      expect(stdout).toContain('All good!');
    });

    it('attw (profile esm-only) finds no problem with the types', async () => {
      // esm-only: the packages are ESM only, so a require() from a CommonJS
      // *TypeScript* file is not modelled; Node >= 20.19 loads them with
      // require(esm), which the consumer test checks at run time.
      await run(join(BIN, 'attw'), [tarball(dir).file, '--profile', 'esm-only', '--format', 'ascii'], { cwd: REPO_ROOT });
    });
  });

  it('tarball sizes (packed / unpacked)', () => {
    const rows = PUBLIC.map(({ dir, manifest }) => {
      const { packedBytes, unpackedBytes, files } = tarball(dir);
      return `${`${manifest.name}@${manifest.version}`.padEnd(28)} ${formatBytes(packedBytes).padStart(10)} ${formatBytes(unpackedBytes).padStart(10)} ${String(files.length).padStart(6)} files`;
    });
    console.log(['package                          packed   unpacked', ...rows].join('\n'));
    // A bound far above today's sizes: crossing it means something big got in (node_modules, fixtures, a data file).
    for (const { dir } of PUBLIC) expect(tarball(dir).unpackedBytes, dir).toBeLessThan(4 * 1024 * 1024);
  });
});

describe('building before packing', () => {
  it('pnpm pack of a package never built ships its build (prepack)', async () => {
    // A copy of @baton/lifecycle and the projects it references, without
    // dist/ or build state, using the workspace's installed dependencies.
    const dir = await mkdtemp(join(tmpdir(), 'baton-unbuilt-'));
    try {
      await cp(join(REPO_ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
      for (const name of projectWithReferences('lifecycle')) {
        const from = join(PACKAGES_DIR, name);
        const to = join(dir, 'packages', name);
        await mkdir(to, { recursive: true });
        for (const entry of ['package.json', 'tsconfig.json', 'src', 'README.md', 'LICENSE']) {
          if (existsSync(join(from, entry))) await cp(join(from, entry), join(to, entry), { recursive: true });
        }
        await symlink(join(from, 'node_modules'), join(to, 'node_modules'));
      }
      expect(existsSync(join(dir, 'packages', 'lifecycle', 'dist'))).toBe(false);
      const packed = await packAndExtract(join(dir, 'packages', 'lifecycle'), join(dir, 'out'));
      const paths = packed.files.map((file) => file.path);
      expect(paths).toContain('dist/index.js');
      expect(paths).toContain('dist/index.d.ts');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('releasing', () => {
  let registry: Server | undefined;
  afterAll(() => new Promise<void>((resolve) => (registry ? registry.close(() => resolve()) : resolve())));

  it('pnpm release --dry-run publishes every public package and no private one, without asking the registry', async () => {
    // A registry that counts what it is asked: the dry run must ask nothing
    // (it runs in CI with no token, possibly with no network).
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(500).end();
    });
    registry = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const { stdout, stderr } = await run('pnpm', ['release', '--dry-run'], { cwd: REPO_ROOT, env: { ...process.env, pnpm_config_registry: url } });
    const output = `${stdout}\n${stderr}`;
    const dryRuns = [...output.matchAll(/Skip publishing (@baton\/[\w-]+)@(\S+) \(dry run\)/g)].map((match) => `${match[1]}@${match[2]}`);
    expect(dryRuns.sort()).toEqual(PUBLIC.map(({ manifest }) => `${manifest.name}@${manifest.version}`).sort());
    for (const { manifest } of workspacePackages().filter((pkg) => pkg.manifest.private === true)) expect(output).not.toContain(manifest.name);
    expect(output).toContain(url);
    expect(requests).toBe(0);
  }, 300_000);

  it('Changesets move every public package to one version, and a 0.x minor stays a minor', async () => {
    // The plan for a minor change to @baton/metrics, made in a copy of the
    // workspace's manifests and Changesets config (pending changesets aside).
    const dir = await mkdtemp(join(tmpdir(), 'baton-changesets-'));
    try {
      for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset/config.json', ...workspacePackages().map(({ dir: name }) => `packages/${name}/package.json`)]) {
        await mkdir(dirname(join(dir, file)), { recursive: true });
        await cp(join(REPO_ROOT, file), join(dir, file));
      }
      await writeFile(join(dir, '.changeset', 'a-change.md'), '---\n"@baton/metrics": minor\n---\n\nA change.\n');
      const git = (...args: string[]) => run('git', ['-c', 'user.name=baton', '-c', 'user.email=baton@localhost', ...args], { cwd: dir });
      await git('init', '-q', '-b', 'main');
      await git('add', '-A');
      await git('commit', '-q', '-m', 'workspace');
      await run(join(BIN, 'changeset'), ['status', '--output', 'plan.json'], { cwd: dir });
      const plan = JSON.parse(await readFile(join(dir, 'plan.json'), 'utf8')) as { releases: { name: string; type: string; oldVersion: string; newVersion: string }[] };
      const released = plan.releases.filter((release) => release.type !== 'none');
      expect(released.map((release) => release.name).sort()).toEqual([...INTERNAL.keys()].sort());
      const versions = new Set(released.map((release) => release.newVersion));
      expect(versions.size).toBe(1);
      // Changesets escalate a package whose peer range a release leaves to a
      // major; the fixed group would then take all of them to 1.0.0.
      const [next] = versions;
      const current = INTERNAL.get('@baton/metrics') ?? '';
      expect(next).toBe(bumpMinor(current));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

/** The files a package's `exports` field points at. */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (exports === null || typeof exports !== 'object') return [];
  return Object.values(exports).flatMap(exportTargets);
}

/**
 * The range a public package peer-depends on another with: `0.x` while Baton
 * is 0.x (a caret range there would make Changesets bump every minor release
 * to 1.0.0), `^version` from 1.0 on.
 */
function internalPeerRange(version: string): string {
  return version.startsWith('0.') ? '0.x' : `^${version}`;
}

function bumpMinor(version: string): string {
  const [major, minor] = version.split('.').map(Number);
  return `${major}.${(minor ?? 0) + 1}.0`;
}

/** A project under packages/ and the ones its tsconfig references, transitively. */
function projectWithReferences(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  const tsconfig = JSON.parse(readFileSync(join(PACKAGES_DIR, name, 'tsconfig.json'), 'utf8')) as { references?: { path: string }[] };
  for (const reference of tsconfig.references ?? []) projectWithReferences(posix.basename(reference.path), seen);
  return seen;
}

import { chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchText } from '@baton/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatonError, isBatonError } from '@baton/lifecycle';
import type { Artifact, InstanceRecord, ReleaseSpec } from '@baton/deploy';
import { isProcessAlive } from '@baton/deploy/kit';
import { createLocalProcessPlatform, type LocalProcessPlatform } from '../local-process-platform.js';
import { MANIFEST_FILE } from './bundle-manifest.js';

// A service whose two dependencies are linked the way pnpm links them: `greeter` to a store outside the
// service directory, `hello` to `.pnpm/…` inside node_modules, where its own dependency `dep` sits beside it.
const MAIN = `
  const http = require('node:http');
  const greeter = require('greeter');
  const hello = require('hello');
  const server = http.createServer((req, res) => res.end(JSON.stringify({ cwd: process.cwd(), greeting: greeter(), hello: hello() })));
  server.listen(Number(process.env.PORT), process.env.HOST, () => console.log(JSON.stringify({ event: 'listening', port: server.address().port })));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

let work: string;
let service: string;
const started: { platform: LocalProcessPlatform; instance: InstanceRecord }[] = [];

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'baton-bundle-'));
  service = join(work, 'service');
  await write('service/dist/main.js', MAIN);
  await write('service/package.json', '{"name":"svc","private":true}\n');
  await write('service/bin/run', '#!/bin/sh\nexec node dist/main.js\n', 0o755);
  await write('store/greeter/package.json', '{"name":"greeter","main":"index.js"}\n');
  await write('store/greeter/index.js', "module.exports = () => 'hello from greeter 1';\n");
  await write('service/node_modules/.pnpm/hello@1/node_modules/hello/package.json', '{"name":"hello","main":"index.js"}\n');
  await write('service/node_modules/.pnpm/hello@1/node_modules/hello/index.js', "module.exports = () => 'hello ' + require('dep');\n");
  await write('service/node_modules/.pnpm/dep@1/node_modules/dep/index.js', "module.exports = 'dep 1';\n");
  await write('service/node_modules/.pnpm/dep@1/node_modules/dep/package.json', '{"name":"dep","main":"index.js"}\n');
  await symlink('../../dep@1/node_modules/dep', join(service, 'node_modules/.pnpm/hello@1/node_modules/dep'));
  await symlink('.pnpm/hello@1/node_modules/hello', join(service, 'node_modules/hello'));
  await symlink('../../store/greeter', join(service, 'node_modules/greeter'));
});

afterEach(async () => {
  for (const { platform, instance } of started.splice(0)) {
    if (instance.pid !== undefined && isProcessAlive(instance.pid)) await platform.stop(instance, { deadlineMs: 5000 }).catch(() => {});
  }
  await rm(work, { recursive: true, force: true });
});

async function write(path: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(join(work, path, '..'), { recursive: true });
  await writeFile(join(work, path), text, { mode });
}

function platformIn(name: string, artifactsDir = join(work, 'artifacts')): LocalProcessPlatform {
  return createLocalProcessPlatform({ stateDir: join(work, name), artifactsDir });
}

const INCLUDE = ['dist', 'package.json', 'bin', 'node_modules'];

function release(version: string, dir = service, include: readonly string[] = INCLUDE): ReleaseSpec {
  return { version, command: process.execPath, args: ['dist/main.js'], cwd: dir, bundle: { include } };
}

async function pin(platform: LocalProcessPlatform, spec: ReleaseSpec): Promise<ReleaseSpec & { artifact: Artifact }> {
  const artifact = await platform.artifact(spec);
  if (artifact === undefined) throw new Error('no artifact');
  return { ...spec, artifact };
}

async function errorOf(promise: Promise<unknown>): Promise<BatonError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isBatonError(error)) throw new Error(`expected a BatonError, got ${String(error)}`);
  return error;
}

describe('local platform: release bundles', () => {
  it('a release without bundle runs in place: no artifact', async () => {
    expect(await platformIn('a').artifact({ version: 'v1', command: 'node' })).toBeUndefined();
  });

  it('gives the same files the same digest (also from another copy of the directory), and one changed byte a new one', async () => {
    const platform = platformIn('a');
    const first = await platform.artifact(release('v1'));
    const again = await platform.artifact(release('v1'));
    expect(first?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(again).toEqual(first);
    expect(first).toMatchObject({ kind: 'bundle', source: service, location: join(work, 'artifacts', first?.digest.slice(7) ?? '') });

    // Another checkout of the same service: the same bytes, the same release.
    await cp(service, join(work, 'elsewhere/service'), { recursive: true, verbatimSymlinks: true });
    await cp(join(work, 'store'), join(work, 'elsewhere/store'), { recursive: true });
    const copy = await platform.artifact(release('v1', join(work, 'elsewhere/service')));
    expect(copy?.digest).toBe(first?.digest);
    expect(copy?.sizeBytes).toBe(first?.sizeBytes);

    await write('elsewhere/service/dist/main.js', `${MAIN} `);
    const changed = await platform.artifact(release('v1', join(work, 'elsewhere/service')));
    expect(changed?.digest).not.toBe(first?.digest);
    // The executable bit is part of what a release is.
    await write('elsewhere/service/dist/main.js', MAIN);
    expect((await platform.artifact(release('v1', join(work, 'elsewhere/service'))))?.digest).toBe(first?.digest);
    await chmod(join(work, 'elsewhere/service/dist/main.js'), 0o755);
    const executable = await platform.artifact(release('v1', join(work, 'elsewhere/service')));
    expect(executable?.digest).not.toBe(first?.digest);

    // In the store: the files, read-only, the link inside node_modules kept, the one outside copied, the manifest.
    const location = first?.location as string;
    expect((await stat(join(location, 'dist/main.js'))).mode & 0o777).toBe(0o444);
    expect((await stat(join(location, 'bin/run'))).mode & 0o777).toBe(0o555);
    expect((await lstat(join(location, 'node_modules/greeter'))).isDirectory()).toBe(true);
    expect((await lstat(join(location, 'node_modules/hello'))).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(join(location, MANIFEST_FILE), 'utf8'))).toMatchObject({ format: 'baton-bundle/1' });
    // One directory per digest, no temporary leftovers.
    expect((await readdir(join(work, 'artifacts'))).sort()).toEqual([first, changed, executable].map((artifact) => artifact?.digest.slice(7)).sort());
  });

  it('runs its instances from the bundle, in the release\'s cwd there, even after the service directory is changed and then deleted', async () => {
    const platform = platformIn('a');
    const v1 = await pin(platform, release('v1'));
    const instance = await platform.start(v1, { id: 'v1-1' });
    started.push({ platform, instance });
    expect(JSON.parse((await fetchText(instance.url)).body)).toEqual({ cwd: v1.artifact.location, greeting: 'hello from greeter 1', hello: 'hello dep 1' });

    // A later build, then the directory gone: a rollback to v1 still runs v1's bytes.
    await write('store/greeter/index.js', "module.exports = () => 'hello from greeter 2';\n");
    await write('service/dist/main.js', 'process.exit(3);\n');
    const again = await platform.start(v1, { id: 'v1-2' });
    started.push({ platform, instance: again });
    expect(JSON.parse((await fetchText(again.url)).body).greeting).toBe('hello from greeter 1');
    await rm(service, { recursive: true, force: true });
    await rm(join(work, 'store'), { recursive: true, force: true });
    const third = await platform.start(v1, { id: 'v1-3' });
    started.push({ platform, instance: third });
    expect(JSON.parse((await fetchText(third.url)).body)).toEqual({ cwd: v1.artifact.location, greeting: 'hello from greeter 1', hello: 'hello dep 1' });
  });

  it('runs in the release\'s cwd inside the bundle when the root is above it', async () => {
    await write('service/dist/package.json', '{"type":"commonjs"}\n');
    const platform = platformIn('a');
    const spec: ReleaseSpec = { version: 'v1', command: process.execPath, args: ['main.js'], cwd: join(service, 'dist'), bundle: { root: service, include: INCLUDE } };
    const v1 = await pin(platform, spec);
    const instance = await platform.start(v1, { id: 'v1-1' });
    started.push({ platform, instance });
    expect(JSON.parse((await fetchText(instance.url)).body).cwd).toBe(join(v1.artifact.location, 'dist'));
  });

  it('refuses to start a release whose bundle was removed from the store, saying so', async () => {
    const platform = platformIn('a');
    const v2 = await pin(platform, release('v2'));
    await rm(v2.artifact.location, { recursive: true, force: true });
    const error = await errorOf(platform.start(v2, { id: 'v2-1' }));
    expect(error.code).toBe('BATON_ERR_PLATFORM');
    expect(error.message).toContain(`the bundle ${v2.artifact.digest} of v2 is not in ${v2.artifact.location}: it was removed; baton release create rebuilds it only if the files are unchanged`);
    // Made again from the same files: the same digest, and it runs.
    expect((await platform.artifact(release('v2')))?.digest).toBe(v2.artifact.digest);
    const instance = await platform.start(v2, { id: 'v2-2' });
    started.push({ platform, instance });
    expect((await fetchText(instance.url)).status).toBe(200);
  });

  it('names a missing include entry, a link to nothing and a cycle of links, and stores nothing', async () => {
    const platform = platformIn('a');
    const missing = await errorOf(platform.artifact(release('v1', service, [...INCLUDE, 'pnpm-lock.yaml'])));
    expect(missing.code).toBe('BATON_ERR_PLATFORM');
    expect(missing.message).toContain(`release.bundle.include of v1 names "pnpm-lock.yaml", but ${join(service, 'pnpm-lock.yaml')} does not exist`);

    await symlink('../../store/gone', join(service, 'node_modules/gone'));
    const dangling = await errorOf(platform.artifact(release('v1')));
    expect(dangling.code).toBe('BATON_ERR_PLATFORM');
    expect(dangling.message).toContain(`the symbolic link ${join(service, 'node_modules/gone')} (node_modules/gone in the bundle of v1) points to ../../store/gone, which does not exist`);
    await rm(join(service, 'node_modules/gone'));

    // A link outside the bundle back to a directory that holds it.
    await symlink('..', join(work, 'store/greeter/parent'));
    const cycle = await errorOf(platform.artifact(release('v1')));
    expect(cycle.code).toBe('BATON_ERR_PLATFORM');
    expect(cycle.message).toContain('node_modules/greeter/parent');
    expect(cycle.message).toContain('cycle');

    await rm(join(work, 'store/greeter/parent'));

    // One directory behind many links (workspace packages linked to each other): refused early, not copied 17 times.
    for (let n = 0; n < 17; n += 1) await symlink('../../store/greeter', join(service, `node_modules/web-${n}`));
    const web = await errorOf(platform.artifact(release('v1')));
    expect(web.message).toContain(`would hold ${join(work, 'store/greeter')} more than 16 times`);

    const outside = await errorOf(platform.artifact(release('v1', service, ['../store'])));
    expect(outside.message).toContain('"../store" leaves the bundle\'s root');
    expect(await readdir(join(work, 'artifacts')).catch(() => [])).toEqual([]);
  });

  it('two platforms bundling the same files at once both get the bundle, stored once', async () => {
    const [a, b] = await Promise.all([platformIn('a').artifact(release('v1')), platformIn('b').artifact(release('v1'))]);
    expect(a).toEqual(b);
    expect(await readdir(join(work, 'artifacts'))).toEqual([a?.digest.slice(7)]);
    expect(JSON.parse(await readFile(join(a?.location as string, MANIFEST_FILE), 'utf8')).entries.length).toBeGreaterThan(10);
  });
});

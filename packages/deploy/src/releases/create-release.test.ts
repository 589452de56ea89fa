// The release registry on real files: what createRelease records, what it refuses, what it never
// writes (secrets), and how it survives a record torn or garbled by hand.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { createRelease, createReleaseRegistry, resolveDeployConfig, type Artifact, type Platform, type ResolvedDeployConfig } from '../index.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-releases-'));
  await writeFile(join(dir, 'build.txt'), 'build one');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A platform whose artifact is the content of `build.txt`: a new build is a new digest, as with a real bundle. */
function buildPlatform(): Omit<Platform, 'artifact'> & { pinned: number; artifact(release: unknown): Promise<Artifact> } {
  const notHere = (): never => {
    throw new Error('this test pins releases only');
  };
  const platform = {
    pinned: 0,
    start: notHere,
    stop: notHere,
    isRunning: notHere,
    onExit: notHere,
    async artifact(): Promise<Artifact> {
      platform.pinned += 1;
      const digest = `sha256:${createHash('sha256').update(await readFile(join(dir, 'build.txt'))).digest('hex')}`;
      return { kind: 'bundle', digest, source: dir, location: join(dir, 'store', digest.slice(7)) };
    },
  };
  return platform;
}

function config(release: Record<string, unknown> = {}): ResolvedDeployConfig {
  return resolveDeployConfig({ service: 'orders', stateDir: join(dir, 's'), release: { version: 'v2', command: 'node', args: ['main.js'], ...release } }, { cwd: dir });
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isBatonError(error, 'BATON_ERR_RELEASE'), `expected BATON_ERR_RELEASE, got ${String(error)}`).toBe(true);
  return error as Error;
}

describe('createRelease', () => {
  it('records the version with its artifact, config digest, creator and time, privately, in one file', async () => {
    const { record, created, release } = await createRelease(config(), { platform: buildPlatform(), env: {}, now: () => Date.UTC(2026, 11, 7, 13, 54) });
    expect(created).toBe(true);
    expect(record).toMatchObject({ version: 'v2', artifact: { kind: 'bundle', source: dir }, createdAtMs: Date.UTC(2026, 11, 7, 13, 54), createdBy: { user: expect.any(String), host: expect.any(String) } });
    expect(record.configDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(release.artifact).toEqual(record.artifact);

    const releases = join(dir, 's', 'releases');
    expect(JSON.parse(await readFile(join(releases, 'v2.json'), 'utf8'))).toEqual(record);
    expect((await stat(releases)).mode & 0o777).toBe(0o700);
    expect((await stat(join(releases, 'v2.json'))).mode & 0o777).toBe(0o600);
    // Written whole and linked into place: no temporary file is left behind.
    expect((await readdir(releases)).sort()).toEqual(['fingerprint-key', 'v2.json']);
    expect(await createReleaseRegistry(releases).read('v2')).toEqual(record);
  });

  it('returns the same record when the same artifact is created again', async () => {
    const platform = buildPlatform();
    const first = await createRelease(config(), { platform, env: {} });
    const second = await createRelease(config(), { platform, env: {} });
    expect(second.created).toBe(false);
    expect(second.record).toEqual(first.record);
    expect(second.configChanged).toEqual([]);
  });

  it('refuses a version whose artifact changed, saying when it was released and what to do, and keeps the record as it was', async () => {
    const platform = buildPlatform();
    const { record } = await createRelease(config(), { platform, env: {} });
    const before = await readFile(join(dir, 's', 'releases', 'v2.json'), 'utf8');
    await writeFile(join(dir, 'build.txt'), 'build two');

    const error = await refusal(createRelease(config(), { platform, env: {} }));
    const now = (await buildPlatform().artifact(config().release)).digest;
    expect(error.message).toContain(`v2 was released on ${new Date(record.createdAtMs).toISOString().slice(0, 16).replace('T', ' ')} UTC as ${record.artifact?.digest} (${dir})`);
    expect(error.message).toContain(`its artifact is now ${now}`);
    expect(error.message).toContain('A release is immutable: give this build a new version (baton deploy --release v3)');
    expect(await readFile(join(dir, 's', 'releases', 'v2.json'), 'utf8')).toBe(before);

    // The new build under a new version is a release of its own.
    const v3 = await createRelease(config({ version: 'v3' }), { platform, env: {} });
    expect(v3.record.artifact?.digest).toBe(now);
  });

  it('allows a changed run config and names what changed, never a value', async () => {
    const platform = buildPlatform();
    await createRelease(config({ env: { DB_URL: 'postgres://one', LOG_LEVEL: 'info' } }), { platform, env: {} });
    const again = await createRelease(config({ args: ['main.js', '--fast'], env: { DB_URL: 'postgres://two', LOG_LEVEL: 'info', EXTRA: '1' } }), { platform, env: {} });
    expect(again.created).toBe(false);
    expect(again.configChanged).toEqual(['args', 'env.DB_URL', 'env.EXTRA']);
  });

  it('never writes a secret value, nor a plain hash of one that a guess could be checked against', async () => {
    const secret = 'hunter2-planted-9c1e';
    const { record } = await createRelease(config({ env: { DB_PASSWORD: secret, MY_VAR: 'plain-planted-4b7a' }, secretEnv: ['MY_VAR'] }), { platform: buildPlatform(), env: {} });
    const text = await readFile(join(dir, 's', 'releases', 'v2.json'), 'utf8');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('plain-planted-4b7a');
    for (const guess of [secret, `DB_PASSWORD=${secret}`, JSON.stringify(secret)]) expect(text).not.toContain(createHash('sha256').update(guess).digest('hex'));
    // The names are there, so a change can be named.
    expect(Object.keys(record.configFingerprints)).toContain('env.DB_PASSWORD');

    // Another registry's key: the same value, another fingerprint (nothing to compare across registries).
    const elsewhere = resolveDeployConfig({ service: 'orders', stateDir: join(dir, 'other'), release: { version: 'v2', command: 'node', args: ['main.js'], env: { DB_PASSWORD: secret, MY_VAR: 'plain-planted-4b7a' }, secretEnv: ['MY_VAR'] } }, { cwd: dir });
    const other = await createRelease(elsewhere, { platform: buildPlatform(), env: {} });
    expect(other.record.configFingerprints['env.DB_PASSWORD']).not.toBe(record.configFingerprints['env.DB_PASSWORD']);
  });

  it('records an unpinned release (a platform without artifacts) and refuses to pin that version later', async () => {
    const inPlace = { ...buildPlatform(), artifact: undefined } as unknown as Platform;
    const { record } = await createRelease(config(), { platform: inPlace, env: {} });
    expect(record.artifact).toBeUndefined();
    const error = await refusal(createRelease(config(), { platform: buildPlatform(), env: {} }));
    expect(error.message).toMatch(/v2 was released on .* unpinned \(it runs in place\); its artifact is now sha256:/);
  });
});

describe('the release registry', () => {
  it('names a garbled record in a clear error, and lists and creates every other release all the same', async () => {
    const platform = buildPlatform();
    await createRelease(config({ version: 'v1' }), { platform, env: {} });
    await createRelease(config(), { platform, env: {} });
    const file = join(dir, 's', 'releases', 'v1.json');
    const torn = (await readFile(file, 'utf8')).slice(0, 40);
    await writeFile(file, torn);

    const pinnedBefore = platform.pinned;
    const error = await refusal(createRelease(config({ version: 'v1' }), { platform, env: {} }));
    expect(error.message).toContain(`The release record ${file} is not valid JSON`);
    expect(platform.pinned).toBe(pinnedBefore);
    expect(error.message).toContain('Other releases are not affected');
    // Refused before anything was pinned, and the torn file is left for the user to look at.
    expect(await readFile(file, 'utf8')).toBe(torn);

    const { releases, unreadable } = await createReleaseRegistry(join(dir, 's', 'releases')).list();
    expect(releases.map((release) => release.version)).toEqual(['v2']);
    expect(unreadable).toEqual([{ file, error: expect.stringContaining(file) }]);
    expect((await createRelease(config({ version: 'v3' }), { platform, env: {} })).created).toBe(true);
  });

  it('names the field of a record that parses but is not a release', async () => {
    const platform = buildPlatform();
    await createRelease(config(), { platform, env: {} });
    const file = join(dir, 's', 'releases', 'v2.json');
    const record = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...record, artifact: { ...(record['artifact'] as object), digest: 'sha256:nothex' } }));
    const error = await refusal(createReleaseRegistry(join(dir, 's', 'releases')).read('v2'));
    expect(error.message).toBe(`The release record ${file} is not valid: artifact.digest is not sha256:<64 hex>. Other releases are not affected; restore the file, or move it away and create the release again.`);
  });

  it('creates a version once when two create it at the same time', async () => {
    const registry = createReleaseRegistry(join(dir, 's', 'releases'));
    const base = { configDigest: `sha256:${'0'.repeat(64)}`, configFingerprints: {}, createdBy: { user: 'a', host: 'b' } };
    const results = await Promise.all([1, 2, 3, 4].map((n) => registry.create({ version: 'v9', createdAtMs: n, ...base })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await readdir(registry.dir)).toEqual(['v9.json']);
  });
});

describe('source revision', () => {
  function git(cwd: string, ...args: string[]): string {
    return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' } }).trim();
  }

  it('is the checkout\'s HEAD, dirty when it has uncommitted changes', async () => {
    git(dir, 'init', '-q');
    git(dir, 'add', 'build.txt');
    git(dir, 'commit', '-q', '-m', 'one');
    const head = git(dir, 'rev-parse', 'HEAD');
    const platform = buildPlatform();
    const clean = await createRelease(config({ version: 'v1' }), { platform, env: { BATON_SOURCE_REVISION: 'ignored-in-a-checkout' } });
    expect(clean.record.source).toEqual({ revision: head, dirty: false });

    await writeFile(join(dir, 'build.txt'), 'build two, not committed');
    const dirty = await createRelease(config(), { platform, env: {} });
    expect(dirty.record.source).toEqual({ revision: head, dirty: true });
  });

  it('is BATON_SOURCE_REVISION outside a checkout, and left out when unknown', async () => {
    const platform = buildPlatform();
    const given = await createRelease(config({ version: 'v1' }), { platform, env: { BATON_SOURCE_REVISION: 'abc1234' } });
    expect(given.record.source).toEqual({ revision: 'abc1234' });
    const unknown = await createRelease(config(), { platform, env: {} });
    expect(unknown.record.source).toBeUndefined();
    expect(Object.keys(unknown.record)).not.toContain('source');
  });
});

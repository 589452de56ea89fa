import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isBatonError } from '@baton/lifecycle';
import type { Artifact, ReleaseSpec } from '@baton/deploy';
import { bundleError, describe, forEachLimited, listBundleSources, sha256OfFile, type BundleSource } from './bundle-files.js';
import { canonicalManifest, firstDifference, MANIFEST_FILE, parseManifest, sha256Of, type BundleEntry } from './bundle-manifest.js';

/** Files hashed or copied at once: enough to keep the disk busy, few enough descriptors. */
const CONCURRENCY = 32;
/** Modes in the store: nobody writes to a release once it is made (the owner can still delete it). */
const READ_ONLY = 0o444;
const READ_ONLY_EXECUTABLE = 0o555;

/**
 * Pins a release with `bundle` to a content-addressed copy of its files in
 * `artifactsDir` (see `createLocalProcessPlatform`'s `artifact`). Undefined
 * for a release without `bundle`: it runs in place.
 *
 * The files are hashed where they are first: a bundle already in the store
 * (same files, same digest) is reused without a copy. A new one is copied
 * into a temporary directory, hashed again there (the store's bytes are the
 * ones the digest names, even if a build wrote to the source meanwhile),
 * made read-only, then renamed into place in one step, so a concurrent
 * `artifact()` of the same files, or a crash, never leaves half a bundle
 * under its digest.
 */
export async function storeBundle(release: ReleaseSpec, artifactsDir: string): Promise<Artifact | undefined> {
  const bundle = release.bundle;
  if (bundle === undefined) return undefined;
  if (bundle === null || typeof bundle !== 'object' || !Array.isArray(bundle.include) || bundle.include.length === 0) {
    throw bundleError(`release.bundle of ${release.version} must be { include: ['dist', 'package.json', 'node_modules', ...], root? }; got ${JSON.stringify(bundle)}.`);
  }
  const root = resolve(bundle.root ?? release.cwd ?? process.cwd());
  // Checked now rather than at the first start: the instances run in this directory of the bundle.
  workingDirIn(root, release);
  const sources = await listBundleSources(root, bundle.include, release.version);
  const entries = await hashAll(sources, (source) => source.from);
  const manifest = canonicalManifest(entries);
  const digest = sha256Of(manifest);
  const hex = digest.slice('sha256:'.length);
  const location = join(resolve(artifactsDir), hex);
  const sizeBytes = entries.reduce((sum, entry) => sum + (entry.type === 'file' ? entry.size : 0), 0);
  const artifact: Artifact = { kind: 'bundle', digest, source: root, location, sizeBytes };
  if (storedDigest(location) === digest) return artifact;

  try {
    await mkdir(artifactsDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw bundleError(`cannot create the bundle store ${artifactsDir}: ${describe(error)}`, error);
  }
  const temp = join(artifactsDir, `.${hex}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  try {
    await copyInto(temp, sources);
    const copied = await hashAll(sources, (source) => join(temp, source.path));
    const changed = firstDifference(entries, copied);
    if (changed !== undefined) throw bundleError(`${join(root, changed)} changed while the bundle of ${release.version} was made (a build running?): run it again once the files are settled.`);
    await writeFile(join(temp, MANIFEST_FILE), manifest, { mode: READ_ONLY, flag: 'wx' });
    await settle(temp, location, digest);
  } catch (error) {
    await rm(temp, { recursive: true, force: true }).catch(() => {});
    if (isBatonError(error)) throw error;
    throw bundleError(`cannot store the bundle of ${release.version} in ${location}: ${describe(error)}`, error);
  }
  return artifact;
}

/**
 * Where an instance of a bundled release runs: the release's `cwd` inside
 * the stored bundle (its root by default). Rejects when the bundle is not
 * in the store any more, or not whole (its manifest is gone or is not the
 * one the digest names); the files themselves are not hashed again here,
 * which would cost every start a read of the whole bundle.
 */
export function bundleWorkingDir(release: ReleaseSpec, artifact: Artifact): string {
  if (storedDigest(artifact.location) !== artifact.digest) {
    throw bundleError(`the bundle ${artifact.digest} of ${release.version} is not in ${artifact.location}: it was removed; baton release create rebuilds it only if the files are unchanged.`);
  }
  return join(artifact.location, workingDirIn(artifact.source, release));
}

/** The release's `cwd` relative to the bundle's root; an error when it lies outside. */
function workingDirIn(root: string, release: ReleaseSpec): string {
  if (release.cwd === undefined) return '.';
  const inside = relative(root, resolve(release.cwd));
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw bundleError(`release ${release.version} runs in ${release.cwd}, outside its bundle's root ${root}: set release.bundle.root to a directory that contains it.`);
  }
  return inside === '' ? '.' : inside;
}

/** The digest of the bundle stored in `dir` (the sha256 of its manifest), or undefined when there is none. */
function storedDigest(dir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    return undefined;
  }
  return parseManifest(text) === undefined ? undefined : sha256Of(text);
}

async function hashAll(sources: readonly BundleSource[], pathOf: (source: BundleSource) => string): Promise<BundleEntry[]> {
  const entries: BundleEntry[] = new Array(sources.length);
  await forEachLimited(
    sources.map((source, index) => ({ source, index })),
    CONCURRENCY,
    async ({ source, index }) => {
      if (source.type === 'dir') {
        entries[index] = { path: source.path, type: 'dir' };
        return;
      }
      if (source.type === 'link') {
        // The copy's link is read back; the source's is what it must say.
        entries[index] = { path: source.path, type: 'link', target: pathOf(source) === source.from ? source.target : await readlink(pathOf(source)) };
        return;
      }
      let sha256: string;
      try {
        sha256 = await sha256OfFile(pathOf(source));
      } catch (error) {
        throw bundleError(`cannot read ${pathOf(source)} (${source.path} in the bundle): ${describe(error)}`, error);
      }
      entries[index] = { path: source.path, type: 'file', executable: source.executable, size: source.size, sha256 };
    },
  );
  return entries;
}

async function copyInto(dir: string, sources: readonly BundleSource[]): Promise<void> {
  await mkdir(dir, { mode: 0o755 });
  // Sorted by path: every directory comes before what it holds.
  for (const source of sources) if (source.type === 'dir') await mkdir(join(dir, source.path), { recursive: true, mode: 0o755 });
  for (const source of sources) if (source.type === 'link') await symlink(source.target, join(dir, source.path));
  const files = sources.filter((source): source is Extract<BundleSource, { type: 'file' }> => source.type === 'file');
  await forEachLimited(files, CONCURRENCY, async (source) => {
    const to = join(dir, source.path);
    // A clone where the file system can (btrfs, xfs): no bytes copied at all.
    await copyFile(source.from, to, constants.COPYFILE_FICLONE);
    await chmod(to, source.executable ? READ_ONLY_EXECUTABLE : READ_ONLY);
  });
}

/**
 * Moves the finished bundle in `temp` to `location`. A bundle of the same
 * digest already there (another orchestrator made it meanwhile) is kept and
 * `temp` removed; a broken one (no manifest: removed by hand half-way) is
 * replaced.
 */
async function settle(temp: string, location: string, digest: string): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await rename(temp, location);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
    }
    if (storedDigest(location) === digest) {
      await rm(temp, { recursive: true, force: true });
      return;
    }
    if (attempt > 0) throw new Error(`${location} exists and holds no bundle manifest`);
    const broken = `${location}.${randomUUID().slice(0, 8)}.broken`;
    await rename(location, broken).catch(() => {});
    await rm(broken, { recursive: true, force: true });
  }
}

import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BatonError } from '@baton/lifecycle';
import { MANIFEST_FILE } from './bundle-manifest.js';

/** A file, directory or link to bundle: where it goes in the bundle, and where its content is read from. */
export type BundleSource =
  | { path: string; type: 'dir'; from: string }
  | { path: string; type: 'file'; from: string; executable: boolean; size: number }
  /** A link to something else in the bundle, kept as a link (relative, so it holds wherever the bundle is). */
  | { path: string; type: 'link'; from: string; target: string };

/**
 * Past this many entries the bundle is surely not what the user meant: a
 * workspace's development install links its packages to each other, and
 * following every link copies each package once per path that reaches it.
 */
export const MAX_BUNDLE_ENTRIES = 500_000;
/** One directory reached through more links than this is such a web of links (a package is rarely needed by more dependents). */
export const MAX_COPIES_OF_A_DIRECTORY = 16;

/**
 * Every file and directory under the `include` entries of `root`, sorted by
 * path. A symbolic link to something outside the bundle is followed (the
 * bundle holds what it points to: a `node_modules` linked to a store, a
 * workspace package); a link to something inside it (pnpm's
 * `node_modules/express -> .pnpm/express@5/node_modules/express`) is kept as
 * a relative link, because Node resolves a package's own dependencies next
 * to where it really is — a copy in its place would not find them. Nothing
 * is skipped silently: an include entry that does not exist, a link to
 * nothing, a link cycle or a file that is neither a file nor a directory (a
 * socket, a FIFO) is an error naming it.
 */
export async function listBundleSources(root: string, include: readonly string[], version: string): Promise<BundleSource[]> {
  const found = new Map<string, BundleSource>();
  const copiesOf = new Map<string, number>();
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (error) {
    throw bundleError(`the bundle root of ${version}, ${root}, does not exist: set release.bundle.root (or release.cwd) to the service directory.`, error);
  }
  const entries = include.map((entry) => ({ entry, path: normalInclude(entry, version) }));
  // The real places of the include entries that are not links themselves: what a link may point to and stay a link.
  const insides: string[] = [];
  for (const { entry, path } of entries) {
    const from = join(root, path);
    try {
      await lstat(from);
    } catch (error) {
      throw bundleError(`release.bundle.include of ${version} names ${JSON.stringify(entry)}, but ${from} does not exist: build it first, or remove it from the list.`, error);
    }
    const real = await realpath(from).catch(() => undefined);
    if (real === join(realRoot, path)) insides.push(real);
  }
  /** The bundle path of `real` when it lies in the bundle, else undefined. */
  const bundlePathOf = (real: string): string | undefined =>
    insides.some((inside) => real === inside || real.startsWith(`${inside}${sep}`)) ? relative(realRoot, real).split(sep).join('/') : undefined;

  const visit = async (path: string, from: string, ancestors: ReadonlySet<string>): Promise<void> => {
    if (found.size >= MAX_BUNDLE_ENTRIES) {
      throw bundleError(`the bundle of ${version} grows past ${MAX_BUNDLE_ENTRIES} files and directories (at ${path}): symbolic links lead to the same packages again and again, as in a workspace's development install; bundle a standalone production install (\`pnpm deploy --prod\`, \`npm ci --omit=dev\`).`);
    }
    let stats: Stats;
    try {
      stats = await lstat(from);
    } catch (error) {
      throw bundleError(`cannot read ${from}, in the bundle of ${version} as ${path}: ${describe(error)}`, error);
    }
    if (stats.isSymbolicLink()) {
      let real: string;
      try {
        real = await realpath(from);
        stats = await stat(from);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const target = await readlink(from).catch(() => '?');
        if (code === 'ENOENT') throw bundleError(`the symbolic link ${from} (${path} in the bundle of ${version}) points to ${target}, which does not exist: build or install it, or leave it out of release.bundle.include.`, error);
        if (code === 'ELOOP') throw bundleError(`the symbolic link ${from} (${path} in the bundle of ${version}) is part of a cycle of links (it points to ${target}).`, error);
        throw bundleError(`cannot follow the symbolic link ${from} (${path} in the bundle of ${version}, to ${target}): ${describe(error)}`, error);
      }
      const inBundle = bundlePathOf(real);
      if (inBundle !== undefined && inBundle !== path) {
        found.set(path, { path, type: 'link', from, target: posix.relative(posix.dirname(path), inBundle) || '.' });
        return;
      }
    }
    if (stats.isFile()) {
      found.set(path, { path, type: 'file', from, executable: (stats.mode & 0o111) !== 0, size: stats.size });
      return;
    }
    if (!stats.isDirectory()) throw bundleError(`${from} (${path} in the bundle of ${version}) is neither a file nor a directory (a socket, a FIFO or a device): a bundle holds files; leave it out of release.bundle.include.`);
    const real = await realpath(from);
    // A directory that is its own ancestor through a link would be copied without end.
    if (ancestors.has(real)) throw bundleError(`the symbolic links under ${from} (${path} in the bundle of ${version}) make a cycle: it is ${real}, a directory that contains it.`);
    // The same directory copied again and again through links: a workspace's packages linked to each other.
    const copies = (copiesOf.get(real) ?? 0) + 1;
    copiesOf.set(real, copies);
    if (copies > MAX_COPIES_OF_A_DIRECTORY) {
      throw bundleError(`the bundle of ${version} would hold ${real} more than ${MAX_COPIES_OF_A_DIRECTORY} times (at ${path}): symbolic links lead to it again and again, as in a workspace's development install; bundle a standalone production install (\`pnpm deploy --prod\`, \`npm ci --omit=dev\`).`);
    }
    found.set(path, { path, type: 'dir', from });
    let names: string[];
    try {
      names = await readdir(from);
    } catch (error) {
      throw bundleError(`cannot list ${from} (${path} in the bundle of ${version}): ${describe(error)}`, error);
    }
    const inside = new Set(ancestors).add(real);
    await Promise.all(names.map((name) => visit(`${path}/${name}`, join(from, name), inside)));
  };

  for (const { path } of entries) await visit(path, join(root, path), new Set());
  if (found.has(MANIFEST_FILE)) throw bundleError(`the bundle of ${version} would hold a file named ${MANIFEST_FILE} at its root, which is the name of Baton's manifest: rename it.`);
  return [...found.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** `entry` as a bundle path (`/`-separated, no `.` or `..`), or an error when it leaves the root. */
function normalInclude(entry: string, version: string): string {
  if (typeof entry !== 'string' || entry === '' || isAbsolute(entry)) {
    throw bundleError(`release.bundle.include of ${version}: each entry must be a path relative to the bundle's root; got ${JSON.stringify(entry)}.`);
  }
  const parts = entry.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
  if (parts.includes('..') || parts.length === 0) {
    throw bundleError(`release.bundle.include of ${version}: ${JSON.stringify(entry)} leaves the bundle's root; name paths inside it.`);
  }
  return parts.join('/');
}

/** sha256 hex of a file's content, streamed (node_modules holds files of any size). */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Runs `task` over `items`, at most `limit` at a time (thousands of files must not open thousands of descriptors). */
export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function bundleError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_PLATFORM', `local process platform: ${message}`, cause === undefined ? undefined : { cause });
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

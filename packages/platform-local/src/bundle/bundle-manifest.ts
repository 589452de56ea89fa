import { createHash } from 'node:crypto';

/** The manifest's name in a stored bundle; no file of the bundle may have it at the root. */
export const MANIFEST_FILE = 'baton-bundle.json';

/** One entry of a bundle: a directory, a file with its content's digest, or a link to another entry. */
export type BundleEntry =
  | { path: string; type: 'dir' }
  | { path: string; type: 'link'; target: string }
  | { path: string; type: 'file'; executable: boolean; size: number; sha256: string };

/**
 * What a bundle holds, in one canonical form: entries sorted by path (code
 * unit order, not locale order, so every machine sorts alike), written as
 * JSON with a fixed key order. Its sha256 is the bundle's digest, so two
 * bundles of the same files have the same digest wherever they were made,
 * and the manifest file in the store is exactly these bytes: the store
 * checks a bundle by hashing one small file.
 */
export function canonicalManifest(entries: readonly BundleEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const lines = sorted.map((entry) =>
    entry.type === 'dir'
      ? JSON.stringify({ path: entry.path, type: 'dir' })
      : entry.type === 'link'
        ? JSON.stringify({ path: entry.path, type: 'link', target: entry.target })
        : JSON.stringify({ path: entry.path, type: 'file', executable: entry.executable, size: entry.size, sha256: entry.sha256 }),
  );
  // One entry a line: a person can read it and diff two bundles' manifests.
  return `{"format":"baton-bundle/1","entries":[\n${lines.join(',\n')}\n]}\n`;
}

/** `sha256:<hex>` of `text`. */
export function sha256Of(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The entries of a manifest file, or undefined when it is not one. */
export function parseManifest(text: string): BundleEntry[] | undefined {
  try {
    const parsed = JSON.parse(text) as { format?: unknown; entries?: unknown };
    if (parsed.format !== 'baton-bundle/1' || !Array.isArray(parsed.entries)) return undefined;
    return parsed.entries as BundleEntry[];
  } catch {
    return undefined;
  }
}

/** The first path whose entry differs between two manifests (added, removed or changed), or undefined when they are the same. */
export function firstDifference(before: readonly BundleEntry[], after: readonly BundleEntry[]): string | undefined {
  const byPath = new Map(before.map((entry) => [entry.path, JSON.stringify(entry)]));
  for (const entry of after) {
    if (byPath.get(entry.path) !== JSON.stringify(entry)) return entry.path;
    byPath.delete(entry.path);
  }
  return byPath.keys().next().value;
}

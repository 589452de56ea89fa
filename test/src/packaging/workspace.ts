// The workspace's packages as the packaging tests see them: read from each
// packages/*/package.json, so a new package is checked without editing a list.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const PACKAGES_DIR = join(REPO_ROOT, 'packages');

/** The fields of a package.json these tests read. */
export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  description?: string;
  keywords?: string[];
  homepage?: string;
  bugs?: { url?: string };
  repository?: { type?: string; url?: string; directory?: string };
  license?: string;
  author?: string;
  type?: string;
  bin?: Record<string, string>;
  exports?: unknown;
  engines?: Record<string, string>;
  publishConfig?: Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

export interface WorkspacePackage {
  /** Directory name under packages/ (`express`). */
  dir: string;
  manifest: Manifest;
}

export function readManifest(file: string): Manifest {
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

/** Every package under packages/, public and private. */
export function workspacePackages(): WorkspacePackage[] {
  return readdirSync(PACKAGES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ dir: entry.name, manifest: readManifest(join(PACKAGES_DIR, entry.name, 'package.json')) }))
    .sort((a, b) => a.dir.localeCompare(b.dir));
}

/** The packages a user can install from the registry. */
export function publicPackages(): WorkspacePackage[] {
  return workspacePackages().filter((pkg) => pkg.manifest.private !== true);
}

/** Runtime dependency fields: what an installed package may import. */
export const RUNTIME_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;

/** Names the package may import at run time: its own name and what it declares. */
export function declaredImports(manifest: Manifest): Set<string> {
  const names = new Set([manifest.name]);
  for (const field of RUNTIME_FIELDS) {
    for (const name of Object.keys(manifest[field] ?? {})) names.add(name);
  }
  return names;
}

// Packs Baton's public packages as `pnpm publish` would: pnpm rewrites the
// `workspace:` ranges of the packed package.json to real version ranges.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Every package a user can install, by directory under packages/, dependencies first. */
export const PUBLIC_PACKAGES = ['lifecycle', 'metrics', 'toggles', 'versioning', 'express', 'fastify', 'contracts', 'migrations', 'deploy', 'k8s', 'router-builtin', 'router-haproxy', 'router-nginx', 'platform-local', 'platform-docker', 'cli'] as const;
export type PublicPackage = (typeof PUBLIC_PACKAGES)[number];

const PACKAGES_DIR = fileURLToPath(new URL('../../../packages/', import.meta.url));

/** One packed package. */
export interface Tarball {
  /** `@baton/express`... */
  name: string;
  version: string;
  /** Absolute path of the .tgz. */
  file: string;
  bytes: number;
  files: number;
}

/**
 * Packs every public package into `destination`, one after the other in
 * dependency order: each `pnpm pack` runs the package's `prepack` build
 * (`tsc -b`, which also builds what it references), and two at once would
 * write the same dist/ files.
 */
export async function packPublicPackages(destination: string): Promise<Record<PublicPackage, Tarball>> {
  const packed: Partial<Record<PublicPackage, Tarball>> = {};
  for (const dir of PUBLIC_PACKAGES) {
    const { stdout } = await run('pnpm', ['pack', '--pack-destination', destination, '--json'], { cwd: `${PACKAGES_DIR}${dir}`, maxBuffer: 16 * 1024 * 1024 });
    // The prepack build prints before pnpm's JSON document.
    const json = JSON.parse(stdout.slice(stdout.search(/^\{\s*$/m))) as { name: string; version: string; filename: string; files: unknown[] };
    const { size } = await stat(json.filename);
    packed[dir] = { name: json.name, version: json.version, file: json.filename, bytes: size, files: json.files.length };
  }
  return packed as Record<PublicPackage, Tarball>;
}

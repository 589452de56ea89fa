// Packs a package the way it is published (`pnpm pack` runs its prepack
// build and turns `workspace:` ranges into real ones) and opens the tarball.
import { execFile } from 'node:child_process';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Runs a command; a failure's error carries its whole output. */
export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} (in ${options.cwd}) failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

export interface PackedFile {
  /** Path inside the package (`dist/index.js`). */
  path: string;
  bytes: number;
}

export interface Tarball {
  file: string;
  /** Size of the .tgz. */
  packedBytes: number;
  /** Sum of the sizes of the files in it. */
  unpackedBytes: number;
  /** Where it was extracted: the package's root (what lands in node_modules/<name>). */
  root: string;
  files: PackedFile[];
}

/** `pnpm pack` of the package in `packageDir` into `destination`, extracted beside it. */
export async function packAndExtract(packageDir: string, destination: string): Promise<Tarball> {
  const { stdout } = await run('pnpm', ['pack', '--pack-destination', destination, '--json'], { cwd: packageDir });
  // The prepack build may print before pnpm's JSON document.
  const json = JSON.parse(stdout.slice(stdout.search(/^\{\s*$/m))) as { filename: string };
  const root = join(destination, `${json.filename.replace(/^.*\//, '').replace(/\.tgz$/, '')}`);
  await mkdir(root, { recursive: true });
  // npm tarballs hold one top directory, `package/`.
  await run('tar', ['-xzf', json.filename, '-C', root, '--strip-components=1'], { cwd: destination });
  const files = await listFiles(root);
  return {
    file: json.filename,
    packedBytes: (await stat(json.filename)).size,
    unpackedBytes: files.reduce((sum, file) => sum + file.bytes, 0),
    root,
    files,
  };
}

async function listFiles(root: string): Promise<PackedFile[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const full = join(entry.parentPath, entry.name);
        return { path: relative(root, full), bytes: (await stat(full)).size };
      }),
  );
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

export function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`;
}

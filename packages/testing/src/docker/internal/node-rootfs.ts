// The smallest root filesystem a Node program runs in: the node binary running
// these tests, the shared libraries the dynamic loader needs for it, the
// bundle, and a /tmp.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import type { TarEntry } from './tar-writer.js';

/** The node binary and its libraries as host paths (the libraries' symlinks followed by the caller's stat). */
export interface NodeRuntime {
  node: string;
  libraries: string[];
}

/** The runtime of this process: `process.execPath` and what `ldd` lists for it. */
export function currentNodeRuntime(): NodeRuntime {
  const node = process.execPath;
  const ldd = execFileSync('ldd', [node], { encoding: 'utf8' });
  const libraries = new Set<string>();
  for (const line of ldd.split('\n')) {
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` or `/lib64/ld-linux-x86-64.so.2 (0x...)`;
    // linux-vdso has no file.
    const path = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
    if (path) libraries.add(path);
  }
  if (/not found/.test(ldd)) throw new Error(`ldd ${node}: a library is missing:\n${ldd}`);
  return { node, libraries: [...libraries].sort() };
}

/** Archive entries of a root filesystem holding the runtime at `/usr/bin/node` and `files` (path inside → content). */
export function nodeRootfsEntries(runtime: NodeRuntime, files: Record<string, Buffer>): TarEntry[] {
  const fileEntries: TarEntry[] = [];
  const addFromHost = (inside: string, host: string): void => {
    // stat follows symlinks: libc.so.6 is a link on the host, a plain file in the image.
    const stat = statSync(host);
    fileEntries.push({ kind: 'file', path: inside.replace(/^\//, ''), mode: stat.mode & 0o777, size: stat.size, source: host });
  };
  addFromHost('/usr/bin/node', runtime.node);
  for (const library of runtime.libraries) addFromHost(library, library);
  for (const [inside, content] of Object.entries(files)) fileEntries.push({ kind: 'file', path: inside.replace(/^\//, ''), mode: 0o644, content });

  const directories = new Set<string>();
  for (const entry of fileEntries) {
    const parts = entry.path.split('/').slice(0, -1);
    for (let depth = 1; depth <= parts.length; depth += 1) directories.add(parts.slice(0, depth).join('/'));
  }
  return [
    ...[...directories].sort().map((path): TarEntry => ({ kind: 'directory', path, mode: 0o755 })),
    { kind: 'directory', path: 'tmp', mode: 0o1777 },
    ...fileEntries,
  ];
}

// A ustar archive written as a stream, for `docker import`: the rig's root
// filesystems hold a few files from the host (the node binary, its libraries)
// and one in memory (the bundle), so it streams them from where they are
// instead of copying ~100 MB into a temp dir first.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

/** One entry of an archive: a directory, a file from disk or a file from memory. */
export type TarEntry =
  | { kind: 'directory'; path: string; mode: number }
  | { kind: 'file'; path: string; mode: number; size: number; source: string }
  | { kind: 'file'; path: string; mode: number; content: Buffer };

const BLOCK = 512;
// A fixed time: the image id changes with every import anyway, and nothing in the rig reads it.
const MTIME = 1_700_000_000;

/** The archive of the entries, as a stream. Paths are relative (`usr/bin/node`). */
export function tarStream(entries: TarEntry[]): Readable {
  return Readable.from(generate(entries), { objectMode: false });
}

async function* generate(entries: TarEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    if (entry.kind === 'directory') {
      yield header(entry.path.endsWith('/') ? entry.path : `${entry.path}/`, entry.mode, 0, '5');
      continue;
    }
    const size = 'content' in entry ? entry.content.length : entry.size;
    yield header(entry.path, entry.mode, size, '0');
    let written = 0;
    if ('content' in entry) {
      yield entry.content;
      written = entry.content.length;
    } else {
      for await (const chunk of createReadStream(entry.source)) {
        written += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    }
    if (written !== size) throw new Error(`${entry.path}: read ${written} bytes where its header says ${size} (it changed while being archived)`);
    if (size % BLOCK !== 0) yield Buffer.alloc(BLOCK - (size % BLOCK));
  }
  yield Buffer.alloc(BLOCK * 2);
}

function header(path: string, mode: number, size: number, type: '0' | '5'): Buffer {
  const block = Buffer.alloc(BLOCK);
  const { name, prefix } = splitPath(path);
  block.write(name, 0, 100, 'utf8');
  octal(block, 100, 8, mode & 0o7777);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, MTIME);
  block.write('        ', 148, 8, 'ascii');
  block.write(type, 156, 1, 'ascii');
  block.write('ustar\u000000', 257, 8, 'binary');
  block.write('root', 265, 32, 'ascii');
  block.write('root', 297, 32, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return block;
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}

/** ustar keeps 100 bytes for the name and 155 for a directory prefix. */
function splitPath(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let cut = path.indexOf('/'); cut !== -1; cut = path.indexOf('/', cut + 1)) {
    const prefix = path.slice(0, cut);
    const name = path.slice(cut + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new Error(`path too long for a tar archive: ${path}`);
}

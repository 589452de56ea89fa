import { lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-file.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-atomic-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces the file whole, mode 0600, and leaves no temporary file', async () => {
    const file = join(dir, 'router-kind');
    await writeFile(file, 'old\n', { mode: 0o644 });
    await writeFileAtomic(file, 'builtin\n');
    expect(await readFile(file, 'utf8')).toBe('builtin\n');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['router-kind']);
  });

  // A state directory a user pointed at a shared directory keeps its mode (see private-dir.ts): a
  // temporary name someone else can guess, opened without O_EXCL, would follow their symlink.
  it('never writes through a link planted where its temporary file would go', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'precious\n');
    const file = join(dir, 'router-kind');
    for (let n = 1; n <= 20; n += 1) await symlink(victim, `${file}.${process.pid}.${n}.tmp`);
    await writeFileAtomic(file, 'builtin\n');
    expect(await readFile(victim, 'utf8')).toBe('precious\n');
    expect(await readFile(file, 'utf8')).toBe('builtin\n');
    expect((await lstat(file)).isFile()).toBe(true);
  });
});

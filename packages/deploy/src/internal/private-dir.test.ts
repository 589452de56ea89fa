import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileJournal } from '../journal/file-journal.js';
import { ensurePrivateDir, ensurePrivateDirSync } from './private-dir.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-private-dir-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o7777;

describe('ensurePrivateDir', () => {
  it('creates missing directories 0700, parents included', async () => {
    await ensurePrivateDir(join(root, 'a', 'b'), () => true);
    expect(await modeOf(join(root, 'a'))).toBe(0o700);
    expect(await modeOf(join(root, 'a', 'b'))).toBe(0o700);
  });

  it('tightens an existing directory that holds only what Baton puts there (an older Baton made it 0755)', async () => {
    const dir = join(root, 'state');
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await writeFile(join(dir, 'router-kind'), 'builtin\n');
    await ensurePrivateDir(dir, (name) => name === 'router-kind');
    expect(await modeOf(dir)).toBe(0o700);
  });

  it('leaves the mode of a directory a user pointed Baton at that holds other things (stateDir: ".", a shared dir)', async () => {
    const dir = join(root, 'project');
    await mkdir(dir);
    await chmod(dir, 0o755);
    await writeFile(join(dir, 'index.html'), 'served by someone else');
    await ensurePrivateDir(dir, (name) => name === 'router-kind');
    expect(await modeOf(dir)).toBe(0o755);
    ensurePrivateDirSync(dir, (name) => name === 'router-kind');
    expect(await modeOf(dir)).toBe(0o755);
  });

  it('never takes the sticky bit (and everyone else\'s access) off a directory like /tmp', async () => {
    const dir = join(root, 'shared-tmp');
    await mkdir(dir);
    await chmod(dir, 0o1777);
    await ensurePrivateDir(dir, () => true);
    expect(await modeOf(dir)).toBe(0o1777);
  });

  it('a journal in a directory shared with other files keeps its files private and the directory as it was', async () => {
    const dir = join(root, 'shared');
    await mkdir(dir);
    await chmod(dir, 0o755);
    await writeFile(join(dir, 'notes.txt'), 'not Baton\'s');
    const journal = createFileJournal<{ n: number }>({ dir });
    await journal.write({ n: 1 });
    await journal.append({ atMs: 1, type: 'x', message: 'x' });
    expect(await modeOf(dir)).toBe(0o755);
    expect(await modeOf(join(dir, 'state.json'))).toBe(0o600);
    expect(await modeOf(join(dir, 'events.jsonl'))).toBe(0o600);
  });
});

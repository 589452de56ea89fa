import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findExecutable, runExecutable } from './executable.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-executable-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function script(dir: string, name: string, body: string, mode = 0o755): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, mode);
  return file;
}

describe('findExecutable', () => {
  it('takes the first PATH directory that holds it, then the extra directories; a file without x is passed over', async () => {
    const [a, b, extra] = ['a', 'b', 'extra'].map((name) => join(root, name)) as [string, string, string];
    await Promise.all([a, b, extra].map((dir) => mkdir(dir)));
    await script(a, 'tool', 'exit 0', 0o644);
    const inB = await script(b, 'tool', 'exit 0');
    const inExtra = await script(extra, 'other', 'exit 0');
    expect(findExecutable('tool', [a, '', b].join(delimiter), [])).toBe(inB);
    expect(findExecutable('other', [a, b].join(delimiter), [extra])).toBe(inExtra);
    expect(findExecutable('missing', [a, b].join(delimiter), [extra])).toBeUndefined();
  });
});

describe('runExecutable', () => {
  it('gives the exit code and stdout then stderr; never rejects, also when the binary is missing', async () => {
    const tool = await script(root, 'tool', 'echo out; echo err >&2; exit 3');
    expect(await runExecutable(tool, [], 10_000)).toEqual({ code: 3, output: 'out\nerr' });
    const missing = await runExecutable(join(root, 'none'), [], 10_000);
    expect(missing.code).toBeNull();
    expect(missing.error?.code).toBe('ENOENT');
  });
});

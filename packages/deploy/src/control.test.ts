import { chown, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readControl, requestControl } from './control.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-control-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('control file', () => {
  it('is read back by the deploy it names, and is private', async () => {
    await requestControl(dir, 'abort', 'd-1');
    expect(await readControl(dir, 'd-1')).toBe('abort');
    expect(await readControl(dir, 'd-2')).toBeUndefined();
    expect((await stat(join(dir, 'control.json'))).mode & 0o777).toBe(0o600);
  });

  // `sudo baton abort` beside a deploy run by the service's user: a root-owned 0600 file is one that
  // deploy cannot read, and the abort it was told about would be ignored.
  it.runIf(process.getuid?.() === 0)('written by root into another user\'s state directory, belongs to that user', async () => {
    const stateDir = join(dir, 'state');
    await mkdir(stateDir, { mode: 0o700 });
    await chown(stateDir, 65534, 65534);
    await requestControl(stateDir, 'promote', 'd-1');
    const file = await stat(join(stateDir, 'control.json'));
    expect([file.uid, file.gid]).toEqual([65534, 65534]);
  });

  it('that cannot be read is an error naming it, not "no command"', async () => {
    // A directory where the file should be: EISDIR, as EACCES would be for a file of another user.
    await mkdir(join(dir, 'control.json'));
    await expect(readControl(dir, 'd-1')).rejects.toThrow(/control\.json/);
  });
});

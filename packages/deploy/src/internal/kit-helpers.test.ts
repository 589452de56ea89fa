import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acceptsConnection } from './accepts-connection.js';
import { readJsonFile } from './json-file.js';
import { readPidFile } from './pid-file.js';
import { MAX_SOCKET_PATH_BYTES, socketPathProblem } from './socket-path.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-kit-helpers-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('kit helpers: state files and sockets', () => {
  it('readJsonFile: the value, undefined when the file is missing, a SyntaxError when it is not JSON', async () => {
    await writeFile(join(root, 'good.json'), '{"a":1}');
    await writeFile(join(root, 'bad.json'), '{"a":');
    expect(await readJsonFile(join(root, 'good.json'))).toEqual({ a: 1 });
    expect(await readJsonFile(join(root, 'missing.json'))).toBeUndefined();
    await expect(readJsonFile(join(root, 'bad.json'))).rejects.toBeInstanceOf(SyntaxError);
  });

  it('readPidFile: the first line’s pid; undefined when missing or not a pid', async () => {
    await writeFile(join(root, 'a.pid'), '4242\n17\n');
    await writeFile(join(root, 'b.pid'), 'nope\n');
    expect(await readPidFile(join(root, 'a.pid'))).toBe(4242);
    expect(await readPidFile(join(root, 'b.pid'))).toBeUndefined();
    expect(await readPidFile(join(root, 'c.pid'))).toBeUndefined();
  });

  it('socketPathProblem: a path of 107 bytes fits, one of 108 is refused with what to shorten', () => {
    const fits = `/${'a'.repeat(MAX_SOCKET_PATH_BYTES - 1)}`;
    expect(socketPathProblem(fits, 'admin socket', 'stateDir')).toBeUndefined();
    expect(socketPathProblem(`${fits}b`, 'admin socket', 'stateDir')).toBe(
      `the admin socket path ${fits}b is longer than 107 bytes (a unix socket limit); use a shorter stateDir.`,
    );
  });

  it('acceptsConnection: true while a unix socket listens, false once it is closed', async () => {
    const path = join(root, 's.sock');
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(path, resolve));
    expect(await acceptsConnection({ path })).toBe(true);
    await new Promise((resolve) => server.close(resolve));
    expect(await acceptsConnection({ path })).toBe(false);
  });
});

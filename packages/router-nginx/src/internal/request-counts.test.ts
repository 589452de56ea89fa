import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nginxRouterPaths, type NginxBackendEntry } from './nginx-state.js';
import { foldRequestCounts } from './request-counts.js';

function backend(id: string, port: number, address = '127.0.0.1'): NginxBackendEntry {
  return { id, release: 'v1', host: address, port, address, state: 'ready', weight: 1, addedAtMs: 0 };
}

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('requests per backend from the access log', () => {
  it('counts every address tried (retries too), reads only what is new, and never counts a half-written line', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bn-counts-'));
    const paths = nginxRouterPaths(dir);
    const backends = [backend('a', 4001), backend('b', 4002), backend('v6', 4003, '::1')];
    await writeFile(paths.accessLog, '127.0.0.1:4001\n127.0.0.1:4002\n-\n127.0.0.1:4002, 127.0.0.1:4001\n[::1]:4003\n127.0.0.1:4001 : 127.0.0.1:4002\n127.0.0.1:40');
    expect(await foldRequestCounts(paths, backends, undefined)).toEqual({ a: 3, b: 3, v6: 1 });
    // The torn line is finished later and counted once.
    await appendFile(paths.accessLog, '01\n127.0.0.1:9999\n');
    expect(await foldRequestCounts(paths, backends, undefined)).toEqual({ a: 4, b: 3, v6: 1 });
    expect(await foldRequestCounts(paths, backends, undefined)).toEqual({ a: 4, b: 3, v6: 1 });
    // A backend that left is no longer listed; the others keep their counts.
    expect(await foldRequestCounts(paths, [backends[1] as NginxBackendEntry], undefined)).toEqual({ b: 3 });
  });

  it('finishes the rotated file before it starts the new one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bn-counts-'));
    const paths = nginxRouterPaths(dir);
    const backends = [backend('a', 4001)];
    await writeFile(paths.accessLog, '127.0.0.1:4001\n'.repeat(10));
    // Past the (tiny) threshold: moved aside, a new one created for nginx to reopen (SIGUSR1 to a master; here no such process).
    expect(await foldRequestCounts(paths, backends, 0x7fffffff, 64)).toEqual({ a: 10 });
    // nginx wrote on into the old file before it reopened, then into the new one.
    await appendFile(paths.accessLogRotated, '127.0.0.1:4001\n'.repeat(2));
    await appendFile(paths.accessLog, '127.0.0.1:4001\n'.repeat(3));
    expect(await foldRequestCounts(paths, backends, undefined)).toEqual({ a: 15 });
    expect((await readFile(paths.accessLog, 'utf8')).split('\n').length - 1).toBe(3);
  });
});

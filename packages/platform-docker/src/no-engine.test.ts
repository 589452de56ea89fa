import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@baton/testing';
import type { InstanceExit } from '@baton/deploy';
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerPlatform, type DockerInstanceRecord } from './index.js';

// Engines that are not there at all (a socket nobody listens on): every call says so
// clearly and nothing hangs. No Docker needed.
describe('docker platform without a reachable engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-pd-none-'));
  const hosts = [
    { name: 'a', docker: `unix://${join(dir, 'a.sock')}` },
    { name: 'b', docker: `unix://${join(dir, 'b.sock')}` },
  ];
  const platform = createDockerPlatform({ service: 'orders', config: { hosts, engineTimeoutMs: 500 } });
  const record: DockerInstanceRecord = { id: 'v1-1', release: 'v1', host: '127.0.0.1', port: 4000, url: 'http://127.0.0.1:4000', container: { id: 'c0ffee', engine: 'b' }, startedAtMs: 0 };
  afterAll(async () => {
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('start rejects naming each engine and why, before anything runs', async () => {
    const error = await platform.start({ version: 'v1', image: 'orders:v1' }, { id: 'v1-1' }).then(() => undefined, (caught: Error & { code?: string }) => caught);
    expect(error?.code).toBe('BATON_ERR_PLATFORM');
    expect(error?.message).toContain('no engine answered, so no instance can start');
    expect(error?.message).toContain(`a (${hosts[0]?.docker}): `);
    expect(error?.message).toContain(`b (${hosts[1]?.docker}): `);
  });

  it('reaches the engine the config names, whatever DOCKER_HOST says', async () => {
    const before = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:1';
    try {
      const only = createDockerPlatform({ service: 'orders', config: { hosts: [hosts[0]], engineTimeoutMs: 500 } });
      const error = await only.start({ version: 'v1', image: 'orders:v1' }, { id: 'v1-1' }).then(() => undefined, (caught: Error) => caught);
      await only.close();
      expect(error?.message).toContain(`connect ENOENT ${join(dir, 'a.sock')}`);
    } finally {
      if (before === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = before;
    }
  });

  it('stop rejects (the instance is kept), isRunning is false, instances() is empty, artifact() names the engine', async () => {
    await expect(platform.stop(record, { deadlineMs: 1000 })).rejects.toMatchObject({ code: 'BATON_ERR_PLATFORM', message: expect.stringContaining('it is kept and the stop can be tried again') });
    expect(await platform.isRunning(record)).toBe(false);
    expect(await platform.instances()).toEqual([]);
    await expect(platform.artifact({ version: 'v1', image: 'orders:v1' })).rejects.toMatchObject({ code: 'BATON_ERR_PLATFORM', message: expect.stringContaining('engine a did not answer') });
  });

  it('onExit reports an instance on an engine that stays unreachable as exited (lost), once', async () => {
    const exits: InstanceExit[] = [];
    platform.onExit(record, (exit) => exits.push(exit));
    await waitFor(() => exits.length > 0, 10_000, 'the lost engine\'s instance to be reported');
    expect(exits).toEqual([expect.objectContaining({ code: null, signal: null })]);
  });

  it('a record from another platform, or of an engine not in hosts, is refused or reported at once', async () => {
    expect(() => platform.onExit({ ...record, container: undefined } as never, () => {})).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION' }));
    await expect(platform.stop({ ...record, container: { id: 'c0ffee', engine: 'z' } }, { deadlineMs: 1000 })).rejects.toMatchObject({
      code: 'BATON_ERR_PLATFORM',
      message: expect.stringContaining('engine z, which is not in platform.hosts (a, b)'),
    });
    const exits: InstanceExit[] = [];
    platform.onExit({ ...record, container: { id: 'c0ffee', engine: 'z' } }, (exit) => exits.push(exit));
    await waitFor(() => exits.length > 0, 5000, 'onExit of an instance on an engine no longer configured');
  });
});

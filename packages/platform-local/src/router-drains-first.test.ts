import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchText } from '@baton/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InstanceRecord } from '@baton/deploy';
import { createLocalProcessPlatform, type LocalProcessPlatform } from './local-process-platform.js';

// Answers with the promise it was given, or "unset".
const SERVICE = `
  const http = require('node:http');
  const server = http.createServer((req, res) => res.end(process.env.BATON_ROUTER_DRAINS_FIRST ?? 'unset'));
  server.listen(Number(process.env.PORT), process.env.HOST, () => console.log(JSON.stringify({ event: 'listening', port: server.address().port })));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

let stateDir: string;
const running: Array<{ platform: LocalProcessPlatform; instance: InstanceRecord }> = [];

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'baton-drains-first-'));
});

afterEach(async () => {
  for (const { platform, instance } of running.splice(0)) await platform.stop(instance, { deadlineMs: 5000 });
  delete process.env.BATON_ROUTER_DRAINS_FIRST;
  await rm(stateDir, { recursive: true, force: true });
});

async function promiseSeenBy(options: { routerDrainsFirst?: boolean }, releaseEnv?: Record<string, string>): Promise<string> {
  const platform = createLocalProcessPlatform({ stateDir, ...options });
  const instance = await platform.start({ version: 'v1', command: process.execPath, args: ['-e', SERVICE], ...(releaseEnv ? { env: releaseEnv } : {}) }, { id: `v1-${running.length + 1}` });
  running.push({ platform, instance });
  return (await fetchText(instance.url)).body;
}

describe('the router-drain promise (BATON_ROUTER_DRAINS_FIRST)', () => {
  it('is given to the instances with routerDrainsFirst', async () => {
    expect(await promiseSeenBy({ routerDrainsFirst: true })).toBe('1');
  });

  it('is not given by default, even when the orchestrator runs with it or a release sets it: only the platform can keep it', async () => {
    process.env.BATON_ROUTER_DRAINS_FIRST = '1';
    expect(await promiseSeenBy({})).toBe('unset');
    expect(await promiseSeenBy({ routerDrainsFirst: false }, { BATON_ROUTER_DRAINS_FIRST: '1' })).toBe('unset');
  });

  it('rejects a routerDrainsFirst that is not a boolean', () => {
    expect(() => createLocalProcessPlatform({ stateDir, routerDrainsFirst: 'yes' as never })).toThrow(/`routerDrainsFirst` must be true or false; got "yes"/);
  });
});

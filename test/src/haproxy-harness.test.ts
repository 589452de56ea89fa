import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findHaproxy, fixtureScript, probeStatus, startHaproxy, startInstance, waitForReady, type Haproxy, type Instance } from './harness/index.js';

const haproxy = findHaproxy();
if (!haproxy) console.log('e2e: haproxy not found, skipping the HAProxy harness suite (apt-get install -y haproxy; .ci/run installs it)');

// The harness is what every figure of the rolling-restart suite stands on:
// its slot swapping and its cleanup are checked on their own here.
describe.skipIf(!haproxy)('HAProxy harness', () => {
  let router: Haproxy | undefined;
  let instance: Instance | undefined;
  afterEach(async () => {
    await instance?.stop();
    await router?.stop();
    instance = undefined;
    router = undefined;
  });

  it('swaps an instance into a template slot over the Runtime API and cleans up after itself', async () => {
    router = await startHaproxy({ slots: 2 });
    const socketDir = dirname(router.api.socketPath);
    const config = await readFile(join(socketDir, 'haproxy.cfg'), 'utf8');
    expect(config).toContain('noreuseport');

    // Every slot starts in maintenance: nothing to route to.
    expect(await probeStatus(`${router.url}/orders`)).toBe(503);

    instance = await startInstance({ script: fixtureScript('baton-core'), env: { BATON_PROPAGATION_DELAY_MS: '0' } });
    await waitForReady(instance.url);
    await router.api.setServerAddress(router.backend, 's1', '127.0.0.1', instance.port);
    await router.api.enableServer(router.backend, 's1');
    expect(await probeStatus(`${router.url}/orders`)).toBe(200);

    const state = (await router.api.showServersState(router.backend)).find((row) => row.srv_name === 's1');
    expect(state?.srv_addr).toBe('127.0.0.1');
    expect(state?.srv_port).toBe(String(instance.port));

    await router.api.setServerState(router.backend, 's1', 'maint');
    expect((await router.api.serverStat(router.backend, 's1'))?.status).toBe('MAINT');
    await expect(router.api.enableServer(router.backend, 'nope')).rejects.toThrow(/No such server|not found/i);

    await router.stop();
    expect(existsSync(socketDir)).toBe(false);
    expect(await probeStatus(`${router.url}/orders`, 500)).toBe(0);
  });
});

// A router the orchestrator cannot command must stop a deploy before any
// traffic moves: HAProxy running with its admin socket gone, or the socket
// refusing, gives a clear BATON_ERR_ROUTER; the live release keeps serving
// and no instance of the new one is started.
import { rename, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { haproxyInstalled } from '@baton/router-haproxy';
import { isBatonError } from '@baton/lifecycle';
import { createService, failuresOf, release, steadyLoad, type DeployedService } from './deploy-fixture.js';

let service: DeployedService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

if (!haproxyInstalled()) console.log('router failures: haproxy is not installed (apt-get install haproxy; .ci/run does) — skipped');

describe.skipIf(!haproxyInstalled())('HAProxy the orchestrator cannot command', () => {
  for (const fault of ['missing', 'refusing'] as const) {
    it(`admin socket ${fault}: a clear error before any traffic moves; v1 keeps serving`, async () => {
      service = await createService({ router: { kind: 'haproxy' }, strategy: { type: 'canary', steps: [{ setWeight: 50 }] } });
      expect((await service.deploy(release('v1'))).phase).toBe('succeeded');
      const load = steadyLoad(await service.routerUrl());
      await load.waitForResponses(50, 20_000);

      const socket = join(service.stateDir, 'r', 'admin.sock');
      const moved = `${socket}.moved`;
      await rename(socket, moved);
      // "Refusing": something answers on the socket's path, but it is not HAProxy's admin API.
      const impostor = fault === 'refusing' ? createServer((connection) => connection.end('Permission denied.\n')).listen(socket) : undefined;
      try {
        const failure = await service.deploy(release('v2')).catch((error: unknown) => error);
        expect(isBatonError(failure, 'BATON_ERR_ROUTER'), String(failure)).toBe(true);
        expect((failure as Error).message).toContain(socket);
        // Nothing moved: no v2 instance was started, and v1 served throughout.
        expect(service.events.some((event) => event.type === 'instance-started' && event.data?.['release'] === 'v2')).toBe(false);
        const report = await load.stop();
        expect(report.failed, failuresOf(report, service)).toBe(0);
      } finally {
        impostor?.close();
        await rm(socket, { force: true });
        await rename(moved, socket);
      }
    });
  }
});

// What this package's tests share: images built by the Docker rig and clean-up of the
// containers a test left, by the service label.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { buildNodeImage, type BuiltImage } from '@baton/testing/docker';

/** The service the tests run (this file's sibling, built): see test-service.test.fixtures.ts. */
export const TEST_SERVICE_ENTRY = fileURLToPath(new URL('./test-service.test.fixtures.js', import.meta.url));

/** An image of the test service on `engine`; node sits at the path it has here, so `command: process.execPath` runs in it too. */
export function testServiceImage(engine: { socketPath: string }): Promise<BuiltImage> {
  return buildNodeImage(engine, { name: 'baton-platform-docker-test', entry: TEST_SERVICE_ENTRY });
}

/** Another image (other bytes) of the same service, for "two images under one tag". */
export async function otherImage(engine: { socketPath: string }): Promise<BuiltImage> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-pd-other-'));
  try {
    const entry = join(dir, 'other.mjs');
    writeFileSync(entry, "console.log('another build of the service');\n");
    return await buildNodeImage(engine, { name: 'baton-platform-docker-other', entry });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes every container labelled `baton.service=<service>` on the engine. */
export async function removeServiceContainers(engine: { socketPath: string }, service: string): Promise<void> {
  const docker = new Docker({ socketPath: engine.socketPath });
  const list = await docker.listContainers({ all: true, filters: { label: [`baton.service=${service}`] } }).catch(() => []);
  await Promise.all(list.map((info) => docker.getContainer(info.Id).remove({ force: true }).catch(() => undefined)));
}

/** The containers labelled with `service` on the engine, running or not. */
export function serviceContainers(engine: { socketPath: string }, service: string): Promise<Docker.ContainerInfo[]> {
  return new Docker({ socketPath: engine.socketPath }).listContainers({ all: true, filters: { label: [`baton.service=${service}`] } });
}

export function dockerOf(engine: { socketPath: string }): Docker {
  return new Docker({ socketPath: engine.socketPath });
}

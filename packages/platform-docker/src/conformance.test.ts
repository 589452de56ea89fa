import { afterAll, beforeAll } from 'vitest';
import { platformConformance } from '@baton/testing/conformance';
import { dockerUnavailable, ensureDockerEngine, type DockerEngineHandle } from '@baton/testing/docker';
import { removeServiceContainers, testServiceImage } from './docker.test.fixtures.js';

// The suite every Baton platform passes, against the built docker platform on the
// machine's engine. Its instances (a node script) run in an image that holds node at
// the path it has here; the script's and the case's directories are bind-mounted at
// the same paths, so the suite's marker files work as for local processes.
const reason = dockerUnavailable();
if (reason !== undefined) console.log(`platform conformance: docker skipped: ${reason}`);
const service = `conformance-${process.pid}`;
let engine: DockerEngineHandle | undefined;
let image = '';

beforeAll(async () => {
  if (reason !== undefined) return;
  engine = await ensureDockerEngine();
  image = (await testServiceImage(engine)).tag;
}, 300_000);

afterAll(async () => {
  if (engine !== undefined) await removeServiceContainers(engine, service);
});

if (reason === undefined) {
  platformConformance(
    'docker',
    { module: new URL('../dist/index.js', import.meta.url).href },
    {
      settings: { service },
      // docker stop takes whole seconds: a 1500 ms deadline kills at 2 s, and a loaded engine takes its time.
      killSlackMs: 10_000,
      neverListenTimeoutMs: 30_000,
      waitMs: 50_000,
      isolated: {
        release: (release) => ({ ...release, image }),
        settings: ({ scriptDir, caseDir }) => ({
          options: { hosts: [{ docker: engine?.docker ?? 'unix:///var/run/docker.sock' }], mounts: [{ source: scriptDir, target: scriptDir, readOnly: true }, { source: caseDir, target: caseDir }] },
        }),
        cleanUp: async () => {
          if (engine !== undefined) await removeServiceContainers(engine, service);
        },
      },
    },
  );
}

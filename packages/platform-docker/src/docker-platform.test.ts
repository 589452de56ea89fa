import { fetchText, waitFor } from '@baton/testing';
import { dockerUnavailable, ensureDockerEngine, startDockerEngine, type DockerEngineHandle, type PrivateDockerEngine } from '@baton/testing/docker';
import type { InstanceExit } from '@baton/deploy';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDockerPlatform, type DockerInstanceRecord, type DockerPlatform } from './index.js';
import { dockerOf, otherImage, removeServiceContainers, serviceContainers, testServiceImage } from './docker.test.fixtures.js';

const reason = dockerUnavailable();

// Two engines of the same machine model two hosts: the machine's (publishing on
// 127.0.0.1) and a private one (its own dockerd and 127.0.0.N). The cases run in order;
// the last one kills the private engine.
describe.skipIf(reason !== undefined)(`docker platform on two engines${reason === undefined ? '' : ` (skipped: ${reason})`}`, () => {
  let hostA: DockerEngineHandle;
  let hostB: PrivateDockerEngine | undefined;
  let image = '';
  let imageId = '';
  let serial = 0;
  const services: string[] = [];
  const platforms: DockerPlatform[] = [];

  beforeAll(async () => {
    hostA = await ensureDockerEngine();
    [hostB] = await Promise.all([startDockerEngine({ name: 'b' }), testServiceImage(hostA).then((built) => ({ image, imageId } = { image: built.tag, imageId: built.id }))]);
  }, 300_000);

  afterEach(async () => {
    for (const platform of platforms.splice(0)) await platform.close();
    for (const service of services.splice(0)) {
      await removeServiceContainers(hostA, service);
      if (hostB !== undefined) await removeServiceContainers(hostB, service).catch(() => undefined);
    }
  }, 60_000);

  afterAll(async () => {
    await hostB?.stop();
  }, 60_000);

  /** A platform over both engines, for a service of this case alone. */
  const platformFor = (config: Record<string, unknown> = {}, extra: { port?: 'announce' | 'assign'; env?: Record<string, string>; listenTimeoutMs?: number } = {}): { platform: DockerPlatform; service: string } => {
    const service = `pd-test-${process.pid}-${(serial += 1)}`;
    services.push(service);
    const platform = createDockerPlatform({
      service,
      config: { hosts: [{ name: 'a', docker: hostA.docker }, { name: 'b', docker: (hostB as PrivateDockerEngine).docker, address: (hostB as PrivateDockerEngine).address }], ...config },
      listenTimeoutMs: extra.listenTimeoutMs ?? 30_000,
      ...(extra.port === undefined ? {} : { port: extra.port }),
      ...(extra.env === undefined ? {} : { env: extra.env }),
    });
    platforms.push(platform);
    return { platform, service };
  };

  it('artifact() copies the image to the engine that lacks it and pins the same digest on both', async () => {
    const { platform } = platformFor();
    await dockerOf(hostB as PrivateDockerEngine).getImage(image).remove({ force: true }).catch(() => undefined);
    const artifact = await platform.artifact({ version: 'v1', image });
    expect(artifact).toMatchObject({ kind: 'image', digest: imageId, source: image, location: imageId });
    expect(artifact.sizeBytes).toBeGreaterThan(1_000_000);
    const onB = await dockerOf(hostB as PrivateDockerEngine).getImage(image).inspect();
    expect(onB.Id).toBe(imageId);
  });

  it('start spreads instances over both engines, each answering on its own engine\'s address; instances() finds them all', async () => {
    const { platform } = platformFor();
    const release = { version: 'v1', image, artifact: await platform.artifact({ version: 'v1', image }) };
    const started: DockerInstanceRecord[] = [];
    for (const id of ['v1-1', 'v1-2', 'v1-3', 'v1-4']) {
      const at = Date.now();
      started.push(await platform.start(release, { id }));
      console.log(`container start to listening: ${Date.now() - at} ms (${id}, engine ${started.at(-1)?.container.engine})`);
    }
    expect(started.map((instance) => instance.container.engine).sort()).toEqual(['a', 'a', 'b', 'b']);
    for (const instance of started) {
      expect(instance.host).toBe(instance.container.engine === 'a' ? hostA.address : (hostB as PrivateDockerEngine).address);
      expect(await fetchText(instance.url)).toMatchObject({ status: 200, body: `v1 ${instance.id}` });
    }
    const found = await platform.instances();
    expect(found.map(({ id, host, port, container }) => ({ id, host, port, engine: container.engine }))).toEqual(
      started.map(({ id, host, port, container }) => ({ id, host, port, engine: container.engine })),
    );
    for (const instance of started) expect(await platform.stop(instance, { deadlineMs: 5000 })).toMatchObject({ code: 0, signal: null });
    expect(await platform.instances()).toEqual([]);
  });

  it('engines holding different images under one tag: a clear error naming both', async () => {
    const { platform } = platformFor();
    const other = await otherImage(hostB as PrivateDockerEngine);
    const [repo, tag] = image.split(':') as [string, string];
    await dockerOf(hostB as PrivateDockerEngine).getImage(other.id).tag({ repo, tag });
    try {
      const error = await platform.artifact({ version: 'v1', image }).then(() => undefined, (caught: Error & { code?: string }) => caught);
      expect(error?.code).toBe('BATON_ERR_PLATFORM');
      expect(error?.message).toContain(`engines a and b hold different images under ${image}: a has ${imageId}, b has ${other.id}`);
    } finally {
      await dockerOf(hostB as PrivateDockerEngine).getImage(image).remove({ force: true }).catch(() => undefined);
    }
  });

  it('an image on none of the engines: a clear error before any container exists', async () => {
    const { platform, service } = platformFor();
    const missing = `baton-missing-${process.pid}:v9`;
    const expected = `image ${missing} is on none of the engines a, b: build or pull it first`;
    await expect(platform.artifact({ version: 'v9', image: missing })).rejects.toMatchObject({ code: 'BATON_ERR_PLATFORM', message: expect.stringContaining(expected) });
    await expect(platform.start({ version: 'v9', image: missing }, { id: 'v9-1' })).rejects.toMatchObject({ code: 'BATON_ERR_PLATFORM', message: expect.stringContaining(expected) });
    expect(await serviceContainers(hostA, service)).toEqual([]);
    expect(await serviceContainers(hostB as PrivateDockerEngine, service)).toEqual([]);
  });

  it('resource limits, labels, restart policy and the environment are on the container; secretEnv comes from the orchestrator', async () => {
    const { platform, service } = platformFor(
      { resources: { memory: '96m', cpus: 0.5, pidsLimit: 64 }, labels: { team: 'orders' }, hosts: [{ name: 'a', docker: hostA.docker }] },
      { env: { SESSION_SIGNING: 'from-the-orchestrator' } },
    );
    const instance = await platform.start({ version: 'v1', image, env: { MODE: 'serve', BATON_ROUTER_DRAINS_FIRST: '1' }, secretEnv: ['SESSION_SIGNING'] }, { id: 'v1-1' });
    const info = await dockerOf(hostA).getContainer(instance.container.id).inspect();
    expect(info.Name).toBe(`/baton-${service}-v1-1`);
    expect(info.HostConfig).toMatchObject({ Memory: 96 * 1024 * 1024, NanoCpus: 500_000_000, PidsLimit: 64, RestartPolicy: { Name: 'no' } });
    expect(info.Config.Labels).toMatchObject({ 'baton.service': service, 'baton.release': 'v1', 'baton.instance': 'v1-1', team: 'orders' });
    expect(info.Config.Env).toEqual(expect.arrayContaining(['PORT=8080', 'HOST=0.0.0.0', 'RELEASE=v1', 'BATON_INSTANCE=v1-1', 'SESSION_SIGNING=from-the-orchestrator']));
    // The router-drain promise is the platform's alone to give.
    expect(info.Config.Env?.some((entry) => entry.startsWith('BATON_ROUTER_DRAINS_FIRST='))).toBe(false);
    expect((await fetchText(`${instance.url}/has/SESSION_SIGNING`)).body).toBe('yes');
    await platform.stop(instance, { deadlineMs: 5000 });
  });

  it('a start that fails quotes the container\'s log with secret values scrubbed, and leaves no container', async () => {
    const secret = `s3cret-${process.pid}-value`;
    const marked = `marked-${process.pid}-value`;
    const { platform, service } = platformFor({}, { env: { LEGACY_CREDS: marked } });
    const release = { version: 'v1', image, env: { MODE: 'crash', SHOUT: 'API_TOKEN,LEGACY_CREDS', API_TOKEN: secret }, secretEnv: ['LEGACY_CREDS'] };
    const error = await platform.start(release, { id: 'v1-1' }).then(() => undefined, (caught: Error & { code?: string }) => caught);
    expect(error?.code).toBe('BATON_ERR_PLATFORM');
    expect(error?.message).toContain('exited with code 3 before it listened');
    // The service's own failure: not tried on the other engine.
    expect(error?.message).not.toContain('could not start on any engine');
    expect(error?.message).toContain('test service: giving up');
    expect(error?.message).toContain('API_TOKEN=[redacted]');
    expect(error?.message).toContain('LEGACY_CREDS=[redacted]');
    expect(error?.message).not.toContain(secret);
    expect(error?.message).not.toContain(marked);
    expect(await serviceContainers(hostA, service)).toEqual([]);
    expect(await serviceContainers(hostB as PrivateDockerEngine, service)).toEqual([]);
  });

  it("with port 'assign', start resolves once the published port answers HTTP", async () => {
    const { platform } = platformFor({ hosts: [{ name: 'a', docker: hostA.docker }] }, { port: 'assign' });
    const instance = await platform.start({ version: 'v2', image }, { id: 'v2-1' });
    expect(await fetchText(instance.url)).toMatchObject({ status: 200, body: 'v2 v2-1' });
    await platform.stop(instance, { deadlineMs: 5000 });
  });

  it('on a user-defined network, an instance is reached at its container\'s IP there, and no port is published', async () => {
    const network = `baton-pd-net-${process.pid}`;
    const docker = dockerOf(hostA);
    await docker.createNetwork({ Name: network, Driver: 'bridge' });
    try {
      const { platform } = platformFor({ hosts: [{ name: 'a', docker: hostA.docker }], network });
      const instance = await platform.start({ version: 'v1', image }, { id: 'v1-1' });
      const info = await docker.getContainer(instance.container.id).inspect();
      expect(instance).toMatchObject({ host: info.NetworkSettings.Networks[network]?.IPAddress, port: 8080 });
      expect(info.HostConfig.PortBindings ?? {}).toEqual({});
      expect(await fetchText(instance.url)).toMatchObject({ status: 200, body: 'v1 v1-1' });
      expect((await platform.instances()).map(({ host, port }) => ({ host, port }))).toEqual([{ host: instance.host, port: 8080 }]);
      await platform.stop(instance, { deadlineMs: 5000 });
    } finally {
      await docker.getNetwork(network).remove().catch(() => undefined);
    }
  });

  it('an aborted start rejects with the abort reason and removes its container', async () => {
    const { platform, service } = platformFor({ hosts: [{ name: 'a', docker: hostA.docker }] });
    const controller = new AbortController();
    const starting = platform.start({ version: 'v1', image, env: { MODE: 'mute' } }, { id: 'v1-1', signal: controller.signal });
    await waitFor(async () => (await serviceContainers(hostA, service)).some((info) => info.State === 'running'), 60_000, 'the container to run');
    const reason = new Error('deploy aborted');
    controller.abort(reason);
    await expect(starting).rejects.toBe(reason);
    expect(await serviceContainers(hostA, service)).toEqual([]);
  });

  it('a container killed behind Baton\'s back (docker kill) fires onExit once, with SIGKILL', async () => {
    const { platform } = platformFor({ hosts: [{ name: 'a', docker: hostA.docker }] });
    const instance = await platform.start({ version: 'v1', image }, { id: 'v1-1' });
    const exits: InstanceExit[] = [];
    platform.onExit(instance, (exit) => exits.push(exit));
    await dockerOf(hostA).getContainer(instance.container.id).kill();
    await waitFor(() => exits.length > 0, 30_000, 'onExit after docker kill');
    expect(exits[0]).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(await platform.isRunning(instance)).toBe(false);
    // Another instance's whole life on the same stream brings no second call.
    const other = await platform.start({ version: 'v1', image }, { id: 'v1-2' });
    await platform.stop(other, { deadlineMs: 5000 });
    await platform.stop(instance, { deadlineMs: 5000 });
    expect(exits).toHaveLength(1);
  });

  it('a start the chosen engine fails (it refuses to start the container) goes to the next engine; when every engine fails, each is named with why', async () => {
    const network = `baton-pd-only-a-${process.pid}`;
    await dockerOf(hostA).createNetwork({ Name: network, Driver: 'bridge' });
    try {
      // b comes first and has no instance, so it is chosen first; it lacks the network, so its engine refuses the container.
      const hosts = [{ name: 'b', docker: (hostB as PrivateDockerEngine).docker, address: (hostB as PrivateDockerEngine).address }, { name: 'a', docker: hostA.docker }];
      const { platform } = platformFor({ hosts, network });
      const instance = await platform.start({ version: 'v1', image }, { id: 'v1-1' });
      expect(instance.container.engine).toBe('a');
      expect(await fetchText(instance.url)).toMatchObject({ status: 200, body: 'v1 v1-1' });
      await platform.stop(instance, { deadlineMs: 5000 });

      const { platform: nowhere, service } = platformFor({ hosts, network: `baton-pd-none-${process.pid}` });
      const error = await nowhere.start({ version: 'v1', image }, { id: 'v1-2' }).then(() => undefined, (caught: Error & { code?: string }) => caught);
      expect(error?.code).toBe('BATON_ERR_PLATFORM');
      expect(error?.message).toMatch(/instance v1-2 could not start on any engine: b \(unix:\/\/\S+\): instance v1-2 \(image \S+, engine b\) did not start: network baton-pd-none-\d+ not found; a \(unix:\/\/\S+\): instance v1-2 \(image \S+, engine a\) did not start: network baton-pd-none-\d+ not found/);
      expect(await serviceContainers(hostA, service)).toEqual([]);
      expect(await serviceContainers(hostB as PrivateDockerEngine, service)).toEqual([]);
    } finally {
      await dockerOf(hostA).getNetwork(network).remove().catch(() => undefined);
    }
  });

  it('a slow engine (it accepts connections and answers nothing) is skipped by start: the instance lands on the engine that answers', async () => {
    const { platform } = platformFor({ engineTimeoutMs: 3000 });
    const first = await platform.start({ version: 'v1', image }, { id: 'v1-1' });
    expect(first.container.engine).toBe('a');
    await (hostB as PrivateDockerEngine).pause();
    try {
      // b has fewer instances, but does not answer within engineTimeoutMs.
      const second = await platform.start({ version: 'v1', image }, { id: 'v1-2' });
      expect(second.container.engine).toBe('a');
      expect(await fetchText(second.url)).toMatchObject({ status: 200, body: 'v1 v1-2' });
    } finally {
      await (hostB as PrivateDockerEngine).resume();
    }
  });

  it('an engine lost mid-life: its instances are reported exited and not running, a stop rejects, the other engine carries on', async () => {
    const { platform } = platformFor({ engineTimeoutMs: 2000 });
    const onA = await platform.start({ version: 'v1', image }, { id: 'v1-1' });
    const onB = await platform.start({ version: 'v1', image }, { id: 'v1-2' });
    expect([onA.container.engine, onB.container.engine]).toEqual(['a', 'b']);
    const exits = new Map<string, InstanceExit[]>();
    for (const instance of [onA, onB]) platform.onExit(instance, (exit) => exits.set(instance.id, [...(exits.get(instance.id) ?? []), exit]));
    await (hostB as PrivateDockerEngine).kill();
    await waitFor(() => exits.has('v1-2'), 30_000, 'onExit of the instance on the lost engine');
    // Lost, not exited: the exit names the engine, its address, since when it is silent and its last error.
    expect(exits.get('v1-2')).toEqual([
      expect.objectContaining({ code: null, signal: null, lost: expect.stringMatching(/^engine b \(unix:\/\/\S+\) has not answered since \d{4}-\d\d-\d\dT[\d:.]+Z: .+/) }),
    ]);
    console.log(`lost: ${exits.get('v1-2')?.[0]?.lost}`);
    expect(await platform.isRunning(onB)).toBe(false);
    await expect(platform.stop(onB, { deadlineMs: 1000 })).rejects.toMatchObject({ code: 'BATON_ERR_PLATFORM', message: expect.stringContaining('engine b did not answer') });
    expect(await platform.isRunning(onA)).toBe(true);
    expect((await platform.instances()).map((instance) => instance.id)).toEqual(['v1-1']);
    // New instances go to the engine that answers.
    const next = await platform.start({ version: 'v1', image }, { id: 'v1-3' });
    expect(next.container.engine).toBe('a');
    for (const instance of [onA, next]) await platform.stop(instance, { deadlineMs: 5000 });
    expect(exits.has('v1-1')).toBe(true);
    // An instance stopped on an engine that answers is not lost.
    expect(exits.get('v1-1')?.[0]?.lost).toBeUndefined();
  });
});

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchText, waitFor } from '@baton/testing';
import {
  buildNodeImage,
  copyImage,
  dockerUnavailable,
  engineAnswers,
  ensureDockerEngine,
  removeContainersLabelled,
  startDockerEngine,
  startTestContainer,
  type BuiltImage,
  type DockerEngineHandle,
  type PrivateDockerEngine,
} from '@baton/testing/docker';

const reason = dockerUnavailable();
const runLabel = `baton.test=docker-rig-${process.pid}-${Date.now()}`;
const [labelKey, labelValue] = runLabel.split('=') as [string, string];

/** A server like the services Baton deploys: says when it listens, answers with its release (from the env). */
function writeServer(dir: string): string {
  // A CommonJS helper beside an ES module entry: the bundle must carry both.
  // (__dirname is one of the things CommonJS code expects that an ES module bundle must provide.)
  writeFileSync(join(dir, 'describe.cjs'), "module.exports = (release) => ({ release, node: process.version, dir: __dirname, os: typeof require('node:os').cpus });\n");
  writeFileSync(
    join(dir, 'server.mjs'),
    [
      "import { createServer } from 'node:http';",
      "import describe from './describe.cjs';",
      'const server = createServer((req, res) => {',
      "  res.setHeader('content-type', 'application/json');",
      '  res.end(JSON.stringify(describe(process.env.RELEASE)));',
      '});',
      "server.listen(Number(process.env.PORT), () => console.log(JSON.stringify({ event: 'listening', port: server.address().port })));",
      '',
    ].join('\n'),
  );
  return join(dir, 'server.mjs');
}

async function answersWithRelease(url: string): Promise<unknown> {
  let last: unknown;
  // The container's node takes a moment to listen: the proxy accepts and resets until then.
  await waitFor(
    async () => {
      try {
        const response = await fetchText(url);
        last = JSON.parse(response.body);
        return response.status === 200;
      } catch (error) {
        last = error;
        return false;
      }
    },
    30_000,
    `an answer from ${url}`,
  ).catch((error: Error) => {
    throw new Error(`${error.message} (last: ${String(last)})`);
  });
  return last;
}

describe.skipIf(reason !== undefined)(`the Docker rig on real engines${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let dir: string;
  let engine: DockerEngineHandle;
  let image: BuiltImage;
  const privateEngines: PrivateDockerEngine[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-docker-rig-'));
    engine = await ensureDockerEngine();
    // Fixed content, so runs reuse the image instead of piling up a 100 MB image each.
    image = await buildNodeImage(engine, { name: 'baton-rig-test', entry: writeServer(dir), env: { PORT: '8080', RELEASE: 'r1' } });
  });

  afterAll(async () => {
    await Promise.all(privateEngines.map((each) => each.stop()));
    if (engine) await removeContainersLabelled(engine, runLabel);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the machine engine answering on /var/run/docker.sock', async () => {
    expect(engine).toEqual({ name: 'default', socketPath: '/var/run/docker.sock', docker: 'unix:///var/run/docker.sock', address: '127.0.0.1' });
    expect(await engineAnswers(engine)).toBe(true);
  });

  it('builds an image whose container answers HTTP on a published port with the env it was built with', async () => {
    expect(image.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.tag).toMatch(/^baton-rig-test:[0-9a-f]{20}$/);
    const container = await startTestContainer(engine, { image: image.tag, containerPort: 8080, labels: { [labelKey]: labelValue } });
    expect(container.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await answersWithRelease(container.url)).toEqual({ release: 'r1', node: process.version, dir: '/app', os: 'function' });
    expect(await container.logs()).toContain('{"event":"listening","port":8080}');
  });

  it('returns the same image for the same content without building it again', async () => {
    const entry = join(dir, 'server.mjs');
    // An import stamps the image with its creation time: a rebuild would have a new id.
    const again = await buildNodeImage(engine, { name: 'baton-rig-test', entry, env: { RELEASE: 'r1', PORT: '8080' } });
    expect(again).toEqual(image);
    // Different env, different content: a different tag.
    const other = await buildNodeImage(engine, { name: 'baton-rig-test', entry, env: { PORT: '8080', RELEASE: 'other' } });
    expect(other.tag).not.toBe(image.tag);
    expect(other.id).not.toBe(image.id);
  });

  it('starts a second engine that runs the copied image (same id) on its own loopback address', async () => {
    const second = await startDockerEngine({ name: 'host-b' });
    privateEngines.push(second);
    expect(second.name).toBe('host-b');
    expect(second.address).toMatch(/^127\.0\.0\.(\d+)$/);
    expect(second.address).not.toBe('127.0.0.1');
    expect(await engineAnswers(second)).toBe(true);

    expect(await copyImage(engine, second, image.tag)).toEqual({ id: image.id });
    const container = await startTestContainer(second, { image: image.id, containerPort: 8080, labels: { [labelKey]: labelValue } });
    expect(container.url.startsWith(`http://${second.address}:`)).toBe(true);
    const answer = (await answersWithRelease(container.url)) as { release: string };
    expect(answer.release).toBe('r1');
  });

  it('kill() loses the engine at once (its socket stops answering); stop() then removes all it left: processes, bridge, directory', async () => {
    const lost = await startDockerEngine();
    privateEngines.push(lost);
    await copyImage(engine, lost, image.tag);
    const container = await startTestContainer(lost, { image: image.id, containerPort: 8080 });
    await answersWithRelease(container.url);

    const containerPids = pidsInCgroupOf(container.id);
    expect(containerPids.length).toBeGreaterThan(0);
    await lost.kill();
    expect(await engineAnswers(lost, 1_000)).toBe(false);
    // Lost engine, live container: its published port went with the engine's docker-proxy, the container did not.
    const orphan = `http://${container.bridgeAddress}:8080`;
    expect((await fetchText(orphan)).status).toBe(200);

    await lost.stop();
    expect(existsSync(lost.dir)).toBe(false);
    expect(() => execFileSync('ip', ['link', 'show', lost.bridge.name], { stdio: 'pipe' })).toThrow();
    expect(processesMentioning(lost.dir)).toEqual([]);
    expect(processesMentioning(`-container-ip ${lost.bridge.cidr.replace(/\.1\/24$/, '.')}`)).toEqual([]);
    await expect(fetchText(container.url)).rejects.toThrow(/ECONNREFUSED/);
    // Not the bridge address: with the bridge gone, the machine's default route may lead to something that answers.
    expect(containerPids.filter(isRunning)).toEqual([]);
  });

  it('pause() makes an engine that accepts but does not answer, until resume()', async () => {
    const slow = await startDockerEngine();
    privateEngines.push(slow);
    await slow.pause();
    expect(await engineAnswers(slow, 500)).toBe(false);
    await slow.resume();
    // A busy machine may take a moment to schedule it again.
    await waitFor(() => engineAnswers(slow), 30_000, 'the resumed engine to answer');
    await slow.stop();
    expect(existsSync(slow.dir)).toBe(false);
  });
});

/** The processes of a container (its cgroup path names its id). */
function pidsInCgroupOf(containerId: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readFileSync(`/proc/${name}/cgroup`, 'utf8').includes(containerId);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Whether a pid is a live process (a killed one may linger as a zombie until its new parent reaps it). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function processesMentioning(text: string): string[] {
  return execFileSync('ps', ['-ww', '-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

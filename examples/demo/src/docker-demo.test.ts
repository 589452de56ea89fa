// `pnpm demo:docker`, run as a user runs it: the demo's binary in a child
// process, on the machine's Docker engine and a private second one. What a
// user notices: it exits 0; v2 is promoted and v3 rolled back with the
// analysis' reason; the instances run on both engines; the load lost nothing
// to the deploys; and nothing of the demo is left running afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerUnavailable, ensureDockerEngine, removeContainersLabelled } from '@baton/testing/docker';

const MAIN = fileURLToPath(new URL('../dist/docker/main.js', import.meta.url));
const reason = dockerUnavailable();
if (reason !== undefined) console.log(`docker-demo.test: skipped — Docker cannot run here: ${reason}`);

describe.skipIf(reason !== undefined)('the Docker demo (pnpm demo:docker)', () => {
  let child: ChildProcess | undefined;
  let stateDir: string | undefined;
  afterAll(async () => {
    // A test that timed out leaves the demo running: SIGTERM makes it tear down what it started (the second engine too).
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (stateDir !== undefined) await rm(stateDir.replace(/\/s$/, ''), { recursive: true, force: true });
  }, 120_000);

  it('deploys the image on two engines: v2 promoted, bad v3 rolled back by analysis, 0 requests failed by the deploys', async () => {
    const run = await runMain(['--router', 'builtin'], (started) => (child = started));
    const out = run.stdout;
    stateDir = /State, instance logs and reports: (\S+)/.exec(out)?.[1];
    // The summary says what went wrong, if anything did; the whole output is too long for a message.
    const summary = out.includes('== Summary') ? out.slice(out.indexOf('== Summary')) : `${out.slice(-4000)}\n${run.stderr}`;

    // The three releases were created through the CLI, each pinned to the image's digest.
    expect(out.match(/\$ baton release create/g)?.length).toBe(3);
    // The story, as the CLI printed it.
    expect(out, summary).toContain('Deployed v1');
    expect(out).toContain('Deployed v2');
    expect(out).toMatch(/Rolled back v3: analysis failed: v3: (2\d|3\d)\.\d% errors/);
    expect(summary).toContain('failed because of the deploys: 0 — none, as promised');
    expect(out).toMatch(/failed because v3 was bad: [1-9]\d*/);
    // v2 serves on both engines after the story.
    const serving = out.split('\n').filter((line) => /^ {2}host-[ab] +\S+ +v2 +container [0-9a-f]{12}/.test(line));
    expect(serving.length, out).toBe(4);
    expect(new Set(serving.map((line) => line.trim().split(/\s+/)[0]))).toEqual(new Set(['host-a', 'host-b']));
    // Torn down: baton down stopped everything, no container of the run is left, the second engine is gone.
    expect(out).toContain('Stopped every instance and the router of orders-demo');
    expect(out).not.toContain('baton down had not stopped');
    expect(stateDir).toBeDefined();
    expect(await removeContainersLabelled(await ensureDockerEngine(), `baton-demo.run=${basename(dirname(stateDir as string))}`)).toBe(0);
    const secondSocket = /^host-b: unix:\/\/(\S+),/m.exec(out)?.[1];
    expect(secondSocket, out).toBeDefined();
    expect(existsSync(secondSocket as string)).toBe(false);
    expect(run.code, summary).toBe(0);
  }, 480_000);
});

// Where Docker cannot run, the demo says why and how to fix it, and skips without failing. Shown
// here as a user who is not root (the rig needs root): the same binary, run as `nobody`.
const SETPRIV = '/usr/bin/setpriv';
const asRoot = process.getuid?.() === 0 && existsSync(SETPRIV);
describe.skipIf(!asRoot)('the Docker demo where Docker cannot run', () => {
  it('prints why and how to fix it, and exits 0 with a skipped line, starting nothing', async () => {
    const run = await runMain([], () => {}, [SETPRIV, '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^demo:docker: skipped — .*cannot do here: .*root/m);
    expect(run.stdout).toContain('pnpm demo shows the same story');
    expect(run.stdout).not.toContain('$ baton');
  }, 60_000);
});

/** Runs the demo's binary to its end (through `prefix`, e.g. to drop privileges); its output, and its exit code. */
function runMain(args: string[], onStart: (child: ChildProcess) => void, prefix: string[] = [process.execPath]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [command, ...before] = prefix as [string, ...string[]];
    const child = spawn(command, [...before, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    onStart(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

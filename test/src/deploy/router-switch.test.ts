// `baton down` leaves nothing behind, so the next deploy may pick any router:
// the CLI (a child process, as a user runs it) deploys the orders service on
// the built-in router, takes it down, deploys on HAProxy in the same state
// directory, takes it down, and deploys on the built-in router again. After
// each down no process of the state directory runs (the recorded pids are
// gone, and no process has a file of it open or works in it), the router's
// port is free and no router state is left. A first deploy that rolls back
// to nothing stops its router the same way.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { haproxyInstalled } from '@baton/router-haproxy';
import { nginxInstalled } from '@baton/router-nginx';
import { release } from './deploy-fixture.js';

const CLI = fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url));

if (!haproxyInstalled()) console.log('router switch: haproxy is not installed (apt-get install haproxy; .ci/run does) — the HAProxy steps are skipped');

let dir: string | undefined;
afterEach(async () => {
  if (dir === undefined) return;
  await baton(dir, ['down']).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

interface Run {
  code: number | string;
  output: string;
  events: { type: string; message: string; data?: Record<string, unknown> }[];
}

/** The CLI as a user runs it, in `cwd` (which holds baton.config.json), with `--json` events parsed. */
function baton(cwd: string, args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args, '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      const events = output
        .split('\n')
        .filter((line) => line.startsWith('{"atMs"'))
        .map((line) => JSON.parse(line) as Run['events'][number]);
      resolve({ code: code ?? signal ?? 'unknown', output, events });
    }),
  );
}

async function writeConfig(cwd: string, router: 'builtin' | 'haproxy' | 'nginx', spec = release('v1')): Promise<void> {
  const config = { service: 'orders', instances: 2, stateDir: join(cwd, 's'), router: { kind: router }, timeouts: { readyMs: 30_000, drainMs: 5000, stopMs: 10_000 }, release: spec };
  await writeFile(join(cwd, 'baton.config.json'), JSON.stringify(config));
}

/** Processes (other than this one) working in `root` or holding a file of it open: an instance's log, a router's. */
function processesUsing(root: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)) {
    const paths: string[] = [];
    try {
      paths.push(readlinkSync(`/proc/${pid}/cwd`));
      for (const fd of readdirSync(`/proc/${pid}/fd`)) paths.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // Gone meanwhile, or a descriptor closed while listed.
    }
    if (paths.some((path) => path === root || path.startsWith(`${root}/`))) {
      let command = '';
      try {
        command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        // Gone meanwhile.
      }
      found.push(`${pid}: ${command}`);
    }
  }
  return found;
}

/** Alive and not a zombie (an exited child not reaped yet has run its course). */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The pids a deploy left running: its instances' and its router's (the built-in router's process, HAProxy's master, nginx's two masters). */
function runningPids(stateDir: string, deploy: Run): number[] {
  const instances = deploy.events.filter((event) => event.type === 'instance-started').map((event) => Number(event.data?.['pid']));
  const router = join(stateDir, 'r');
  const pids = [...instances];
  for (const pidFile of ['haproxy.pid', 'edge.pid', 'balancer.pid']) {
    if (existsSync(join(router, pidFile))) pids.push(Number(readFileSync(join(router, pidFile), 'utf8').trim()));
  }
  if (existsSync(join(router, 'router.json'))) pids.push((JSON.parse(readFileSync(join(router, 'router.json'), 'utf8')) as { pid: number }).pid);
  return pids.filter((pid) => Number.isInteger(pid) && pid > 0);
}

/** The router's address, from the first event of a deploy. */
function routerUrl(deploy: Run): string {
  const event = deploy.events.find((candidate) => candidate.type === 'router');
  expect(event, deploy.output).toBeDefined();
  return String(event?.data?.['url']);
}

/** What must hold after `baton down`, or after a first deploy that rolled back to nothing. */
async function expectNothingLeft(stateDir: string, pids: number[], port: number): Promise<void> {
  expect(pids.filter((pid) => isProcessAlive(pid))).toEqual([]);
  expect(processesUsing(stateDir)).toEqual([]);
  expect(await portFree(port)).toBe(true);
  expect(existsSync(join(stateDir, 'r'))).toBe(false);
  expect(existsSync(join(stateDir, 'router-kind'))).toBe(false);
  // The local platform's record of each process it started (<stateDir>/instances/instances/<id>.json).
  const recordDir = join(stateDir, 'instances', 'instances');
  expect(existsSync(recordDir) ? await readdir(recordDir) : []).toEqual([]);
}

describe.skipIf(!haproxyInstalled())('baton down, then another router', () => {
  it('built-in → down → HAProxy → down → built-in, in one state directory: nothing left running or recorded after each down', async () => {
    dir = await mkdtemp('/tmp/bsw-');
    const stateDir = join(dir, 's');
    const steps = [
      ['builtin', 'v1'],
      ['haproxy', 'v2'],
      ['builtin', 'v3'],
    ] as const;
    for (const [router, version] of steps) {
      await writeConfig(dir, router, release(version));
      const deployed = await baton(dir, ['deploy']);
      expect(deployed.code, deployed.output).toBe(0);
      const url = routerUrl(deployed);
      expect(deployed.events.find((event) => event.type === 'router')?.data?.['kind']).toBe(router);
      const answer = await fetch(`${url}/orders?limit=1`);
      expect(answer.status).toBe(200);
      await answer.arrayBuffer();
      const pids = runningPids(stateDir, deployed);
      // Two instances and the router, all alive and all in the state directory's care.
      expect(pids).toHaveLength(3);
      expect(pids.every((pid) => isProcessAlive(pid))).toBe(true);

      const down = await baton(dir, ['down']);
      expect(down.code, down.output).toBe(0);
      await expectNothingLeft(stateDir, pids, Number(new URL(url).port));
      // The user's records stay: the journal's history and the instances' and router's logs.
      expect(existsSync(join(stateDir, 'journal', 'events.jsonl'))).toBe(true);
      for (const event of deployed.events.filter((candidate) => candidate.type === 'instance-started')) {
        expect(existsSync(join(stateDir, 'instances', 'logs', `${String(event.data?.['id'])}.log`))).toBe(true);
      }
      expect(existsSync(join(stateDir, 'logs', `${router}-router.log`))).toBe(true);
    }
  });
});

describe('a first deploy that rolls back to nothing', () => {
  for (const router of ['builtin', 'haproxy', 'nginx'] as const) {
    it.skipIf((router === 'haproxy' && !haproxyInstalled()) || (router === 'nginx' && !nginxInstalled()))(`stops its ${router} router: no process left, port free, no router state`, async () => {
      dir = await mkdtemp('/tmp/bsw-');
      const stateDir = join(dir, 's');
      // A release that dies at start: nothing will ever serve.
      await writeConfig(dir, router, { version: 'v1', command: process.execPath, args: ['-e', "console.error('fatal: no database'); process.exit(3)"] });
      const deployed = await baton(dir, ['deploy']);
      expect(deployed.code, deployed.output).toBe(1);
      expect(deployed.events.map((event) => event.type)).toContain('rolled-back');
      expect(deployed.events.map((event) => event.type)).toContain('router-stopped');
      const url = routerUrl(deployed);
      await expectNothingLeft(stateDir, runningPids(stateDir, deployed), Number(new URL(url).port));
      // And the next deploy, of a good release, starts a router afresh.
      await writeConfig(dir, router, release('v2'));
      const next = await baton(dir, ['deploy']);
      expect(next.code, next.output).toBe(0);
      expect(next.events.find((event) => event.type === 'router')?.data?.['started']).toBe(true);
    });
  }
});

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@baton/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { findHaproxy } from './haproxy-process.js';
import { HaproxyRuntimeApi, parseInfo, parseServersState, parseStat, serverStateOf } from './haproxy-runtime-api.js';

const haproxy = findHaproxy();

describe('Runtime API answers, parsed', () => {
  it('reads show stat, show servers state and show info', () => {
    const stat = parseStat('# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,req_tot,\nbe,s1,0,0,2,5,,41,UP,40,\nbe,BACKEND,0,0,2,5,,41,UP,40,\n\n');
    expect(stat[0]).toMatchObject({ pxname: 'be', svname: 's1', scur: '2', stot: '41', status: 'UP', req_tot: '40' });
    const states = parseServersState(
      '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n3 be 1 s1 127.0.0.1 2 4 3\n3 be 2 s2 127.0.0.1 0 5 1\n3 be 3 s3 127.0.0.1 2 12 7\n\n',
    );
    expect(states.map((row) => [row.srv_name, serverStateOf(row), row.srv_uweight])).toEqual([
      // 4 is "declared disabled" only: enabled since, it serves.
      ['s1', 'ready', '3'],
      ['s2', 'maint', '1'],
      ['s3', 'drain', '7'],
    ]);
    expect(parseInfo('Name: HAProxy\nVersion: 2.6.12\nPid: 4242\n')).toMatchObject({ Version: '2.6.12', Pid: '4242' });
    expect(() => parseServersState("Can't find backend.\n")).toThrow(/Can't find backend/);
  });
});

describe('HaproxyRuntimeApi without a HAProxy', () => {
  it('says the socket is missing, or that nothing listens on it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-hapi-'));
    try {
      const missing = new HaproxyRuntimeApi(join(dir, 'admin.sock'));
      await expect(missing.cliLevel()).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/does not exist/) });
      // A socket file nobody listens on: what a killed HAProxy leaves.
      const stale = join(dir, 'stale.sock');
      const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
      await new Promise((resolve) => child.once('exit', resolve));
      await expect(new HaproxyRuntimeApi(stale).cliLevel()).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/nothing listens/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses arguments that are not HAProxy names, IP addresses, ports or weights before sending anything', async () => {
    const api = new HaproxyRuntimeApi('/nonexistent/admin.sock');
    await expect(api.setServerWeight('be', 's1', 257)).rejects.toThrow(/integer 0-256/);
    await expect(api.setServerWeight('be', 's1;shutdown', 1)).rejects.toThrow(/not a HAProxy name/);
    await expect(api.setServerAddress('be', 's1', 'localhost', 80)).rejects.toThrow(/IP address/);
    await expect(api.setServerAddress('be', 's1', '127.0.0.1', 0)).rejects.toThrow(/1-65535/);
    await expect(api.command('show info\nshutdown frontend fe')).rejects.toThrow(/one line/);
  });
});

if (!haproxy) console.log('deploy: haproxy not found, skipping the Runtime API suite against a real HAProxy (apt-get install -y haproxy)');

describe.skipIf(!haproxy)('HaproxyRuntimeApi against a real HAProxy', () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    child = undefined;
    dir = undefined;
  });

  async function start(level: 'admin' | 'operator'): Promise<HaproxyRuntimeApi> {
    dir = await mkdtemp(join(tmpdir(), 'baton-hapi-'));
    const socket = join(dir, 'admin.sock');
    // No frontend: this suite needs only the socket and a backend of slots.
    await writeFile(
      join(dir, 'haproxy.cfg'),
      `global\n  noreuseport\n  stats socket ${socket} mode 600 level ${level}\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nbackend be\n  server-template s 1-3 127.0.0.1:1 check disabled\n`,
    );
    child = spawn(haproxy as string, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    const api = new HaproxyRuntimeApi(socket);
    await waitFor(() => api.cliLevel().then(() => true, () => false), 10_000, 'HAProxy admin socket');
    return api;
  }

  it('sets address, weight and state in one batch and reads them back', async () => {
    const api = await start('admin');
    expect(await api.cliLevel()).toBe('admin');
    await api.execute(['set server be/s2 addr 127.0.0.1 port 4002', 'set server be/s2 weight 42', 'set server be/s2 state drain'], /changed from|no need to change/);
    const s2 = (await api.showServersState('be')).find((row) => row.srv_name === 's2');
    expect(s2).toMatchObject({ srv_addr: '127.0.0.1', srv_port: '4002', srv_uweight: '42' });
    expect(serverStateOf(s2 ?? {})).toBe('drain');
    expect((await api.serverStat('be', 's2'))?.status).toMatch(/^DRAIN/);
    expect(await api.currentSessions('be', 's2')).toBe(0);
    expect(Number((await api.showInfo()).Pid)).toBe(child?.pid);
    // One answer per command, empty ones included.
    expect(await api.batch(['set server be/s1 weight 2', 'show cli level', 'set server be/s1 weight 3'])).toEqual(['', 'admin\n', '']);
  });

  it('names the refused command of a batch and HAProxy’s reason', async () => {
    const api = await start('admin');
    await expect(api.execute(['set server be/s1 weight 2', 'set server be/nope state ready'])).rejects.toMatchObject({
      code: 'BATON_ERR_ROUTER',
      message: expect.stringMatching(/"set server be\/nope state ready" was refused \(command 2 of 2.*\): No such server/),
    });
    await expect(api.enableServer('be', 'nope')).rejects.toThrow(/No such server/);
  });

  it('reports the level of a socket that is not admin', async () => {
    const api = await start('operator');
    expect(await api.cliLevel()).toBe('operator');
    await expect(api.setServerState('be', 's1', 'ready')).rejects.toThrow(/refused.*Permission denied/i);
  });
});

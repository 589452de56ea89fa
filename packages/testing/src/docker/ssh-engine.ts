import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './internal/free-port.js';
import { isProcessAlive, logTail, signal, waitForExit } from './internal/processes.js';
import { makeSshKey, needed, startSshAgent, type SshAgent } from './internal/ssh-agent.js';
import { claimDir, reapAbandonedSshd } from './internal/ssh-remains.js';
import { startDockerEngine, type PrivateDockerEngine, type StartDockerEngineOptions } from './private-engine.js';

export { startSshAgent, type SshAgent } from './internal/ssh-agent.js';

/** A private engine reached as `ssh://user@127.0.0.1:<port>`, through an sshd of the test's own. */
export interface SshDockerEngine extends PrivateDockerEngine {
  /** The client address: `ssh://<user>@127.0.0.1:<port>` (the unix socket stays in `socketPath`, for the rig's own tools). */
  docker: string;
  /** A running `ssh-agent` holding the key the sshd lets in: its socket is the `SSH_AUTH_SOCK` a client needs. */
  agent: SshAgent;
  /** The same key as a file (`ssh -i`), and the host's public key as a `known_hosts` line for `127.0.0.1`/`[127.0.0.1]:port`. */
  identityFile: string;
  knownHostsLine: string;
  sshd: { pid: number; port: number; logPath: string };
}

/**
 * Starts a private Docker engine ({@link startDockerEngine}) and an `sshd` of
 * its own in front of it — on 127.0.0.1 and a free port, with its own host
 * key, no PAM, no passwords, and only a freshly made ed25519 key let in (for
 * the user the tests run as) — plus an `ssh-agent` holding that key.
 *
 * A Docker client over `ssh://` runs `docker system dial-stdio` on the
 * remote side, which dials the engine in that session's `DOCKER_HOST`: the
 * sshd sets it for every session (`SetEnv`), so the remote `docker` talks to
 * this private engine, not to the machine's.
 *
 * @example
 * const engine = await startSshDockerEngine({ name: 'ssh' });
 * process.env.SSH_AUTH_SOCK = engine.agent.socketPath; // as for the Docker CLI
 * const host = { name: engine.name, docker: engine.docker, address: engine.address };
 */
export async function startSshDockerEngine(options: Omit<StartDockerEngineOptions, 'tlsListener'> = {}): Promise<SshDockerEngine> {
  const sshdPath = needed('sshd');
  await reapAbandonedSshd();
  const engine = await startDockerEngine(options);
  const dir = mkdtempSync('/tmp/bs-');
  claimDir(dir);
  let agent: SshAgent | undefined;
  let sshdPid: number | undefined;
  const stopAll = async (): Promise<void> => {
    if (sshdPid !== undefined && isProcessAlive(sshdPid)) {
      signal(sshdPid, 'SIGTERM');
      await waitForExit(sshdPid, 5_000);
    }
    await agent?.stop();
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const hostKey = await makeSshKey(join(dir, 'host_ed25519'), 'baton test sshd');
    const identityFile = await makeSshKey(join(dir, 'deployer_ed25519'), 'baton test deployer');
    copyFileSync(`${identityFile}.pub`, join(dir, 'authorized_keys'));
    agent = await startSshAgent([identityFile]);
    // sshd refuses to start without its privilege-separation directory; a machine that never ran the service lacks it.
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

    const user = userInfo().username;
    const logPath = join(dir, 'sshd.log');
    let port = 0;
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort();
      writeFileSync(join(dir, 'sshd_config'), sshdConfig({ dir, port, hostKey, user, dockerHost: `unix://${engine.socketPath}` }));
      const log = openSync(logPath, 'a');
      const sshd = spawn(sshdPath, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', log, log], cwd: dir });
      closeSync(log);
      sshd.unref();
      sshdPid = sshd.pid;
      claimDir(dir, sshdPid);
      const exited = new Promise<void>((resolve) => sshd.once('exit', () => resolve()));
      if (await waitForBanner(port, exited, options.timeoutMs ?? 30_000)) break;
      const tail = logTail(logPath);
      if (attempt >= 3 || !/address already in use/i.test(tail)) throw new Error(`sshd did not start on 127.0.0.1:${port}; the end of ${logPath}:\n${tail}`);
    }
    const hostPublicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    let stopping: Promise<void> | undefined;
    return {
      ...engine,
      docker: `ssh://${user}@127.0.0.1:${port}`,
      agent,
      identityFile,
      knownHostsLine: `[127.0.0.1]:${port} ${hostPublicKey}`,
      sshd: { pid: sshdPid as number, port, logPath },
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}

/** Everything sshd reads is in `dir`: nothing of the machine's own ssh setup (its host keys, ~/.ssh) is used or touched. */
function sshdConfig(o: { dir: string; port: number; hostKey: string; user: string; dockerHost: string }): string {
  return [
    `Port ${o.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${o.hostKey}`,
    `PidFile ${join(o.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(o.dir, 'authorized_keys')}`,
    `AllowUsers ${o.user}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // The tests run as root; the key is the only way in.
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    // The key files live under /tmp (world-writable), which StrictModes rejects as a home for keys.
    'StrictModes no',
    'PrintMotd no',
    'AllowTcpForwarding no',
    'X11Forwarding no',
    // What makes `docker system dial-stdio` in the session reach this engine.
    `SetEnv DOCKER_HOST=${o.dockerHost}`,
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

/** True once the port answers with an SSH banner; false when sshd exits or the time runs out. */
async function waitForBanner(port: number, exited: Promise<void>, timeoutMs: number): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (!gone && Date.now() < deadline) {
    const banner = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      let text = '';
      const done = (): void => {
        socket.destroy();
        resolve(text);
      };
      socket.setTimeout(2_000, done);
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) done();
      });
      socket.on('error', done);
      socket.on('close', done);
    });
    if (banner.startsWith('SSH-2.0-')) return true;
    await sleep(50);
  }
  return false;
}

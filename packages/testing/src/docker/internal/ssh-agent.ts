import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findExecutable, isProcessAlive, run, signal, waitForExit } from './processes.js';
import { claimDir } from './ssh-remains.js';

/** A real `ssh-agent` of a test's own, holding the keys it was given. */
export interface SshAgent {
  /** For `SSH_AUTH_SOCK`. */
  socketPath: string;
  pid: number;
  /** The public keys it holds (`ssh-ed25519 AAAA… comment`), one per key. */
  publicKeys: string[];
  /** Ends the agent and removes its directory (and the keys made for it). Safe to call twice. */
  stop(): Promise<void>;
}

/** Makes an ed25519 key pair without a passphrase; returns the private key's path (the public one is `<path>.pub`). */
export async function makeSshKey(path: string, comment: string): Promise<string> {
  await run(needed('ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return path;
}

/**
 * Starts `ssh-agent -D -a <socket>` (in the foreground, so it is this
 * process's child and its pid is known) and adds `keys` to it with
 * `ssh-add`; with no keys, one made for it (a key no host knows).
 */
export async function startSshAgent(keys: readonly string[] = []): Promise<SshAgent> {
  const dir = mkdtempSync('/tmp/bs-agent-');
  const socketPath = join(dir, 'agent.sock');
  const agent = spawn(needed('ssh-agent'), ['-D', '-a', socketPath], { stdio: 'ignore' });
  agent.unref();
  const pid = agent.pid;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (pid !== undefined && isProcessAlive(pid)) {
        signal(pid, 'SIGTERM');
        await waitForExit(pid, 5_000);
      }
      rmSync(dir, { recursive: true, force: true });
    })());
  try {
    if (pid === undefined) throw new Error('could not start ssh-agent');
    claimDir(dir, pid);
    for (let waited = 0; !existsSync(socketPath); waited += 20) {
      if (!isProcessAlive(pid) || waited > 10_000) throw new Error(`ssh-agent did not open ${socketPath}`);
      await sleep(20);
    }
    const added = keys.length > 0 ? keys : [await makeSshKey(join(dir, 'stranger_ed25519'), 'a key no host knows')];
    const env = { ...process.env, SSH_AUTH_SOCK: socketPath };
    for (const key of added) {
      await new Promise<void>((resolve, reject) => {
        const child = spawn(needed('ssh-add'), ['-q', key], { stdio: ['ignore', 'ignore', 'pipe'], env });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh-add ${key}: ${stderr.trim() || `exit code ${code}`}`))));
      });
    }
    const publicKeys = (await runWithEnv(needed('ssh-add'), ['-L'], env)).trim().split('\n');
    return { socketPath, pid, publicKeys, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function runWithEnv(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || `exit code ${code}`}`))));
  });
}

export function needed(program: string): string {
  const path = findExecutable(program);
  if (path === undefined) throw new Error(`${program} is not installed (apt-get install -y openssh-client openssh-server)`);
  return path;
}

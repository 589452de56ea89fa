import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchText } from '@baton/testing';
import {
  copyImage,
  dockerUnavailable,
  ensureDockerEngine,
  startSshAgent,
  startSshDockerEngine,
  startTlsDockerEngine,
  type DockerEngineHandle,
  type SshAgent,
  type SshDockerEngine,
  type TlsDockerEngine,
} from '@baton/testing/docker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { platformProvider, type DockerInstanceRecord, type DockerPlatform } from './index.js';
import { dockerOf, removeServiceContainers, testServiceImage } from './docker.test.fixtures.js';

const missingProgram = ['/usr/sbin/sshd', '/usr/bin/ssh-agent', '/usr/bin/ssh-keygen', '/usr/bin/openssl'].find((path) => !existsSync(path));
const reason = dockerUnavailable() ?? (missingProgram === undefined ? undefined : `${missingProgram} is missing (apt-get install -y openssh-server openssh-client openssl)`);
/** The rig's images hold node at the path it has here. */
const NODE_IN_IMAGE = process.execPath;
/**
 * For the refusals: short, so "not a hang" is checked, yet above a refused TLS
 * handshake or ssh login on a loaded machine (seen: 0.1–1.3 s at load 37 on 2 CPUs).
 */
const REFUSAL_TIMEOUT_MS = 8_000;
/**
 * For the cases that work: an ssh login plus `docker system dial-stdio` on the
 * host took 3.5–9 s on this machine under load (`ssh host true` alone 5–9 s, at
 * load 37 on 2 CPUs); the README says to keep engineTimeoutMs above that.
 */
const WORKING_TIMEOUT_MS = 30_000;

// The two remote forms of `hosts[].docker` on real engines of this machine: a
// dockerd serving its API on tcp://127.0.0.1:<port> with --tlsverify, and one
// behind an sshd of the test's own (`ssh://root@127.0.0.1:<port>`, the key in a
// real ssh-agent). Each publishes ports on its own loopback address 127.0.0.N,
// which the config names as the host's `address`.
describe.skipIf(reason !== undefined)(`docker platform on remote engines: tcp+TLS and ssh${reason === undefined ? '' : ` (skipped: ${reason})`}`, () => {
  let local: DockerEngineHandle;
  let tls: TlsDockerEngine | undefined;
  let ssh: SshDockerEngine | undefined;
  let stranger: SshAgent | undefined;
  let image = '';
  let imageId = '';
  let serial = 0;
  const authSockBefore = process.env.SSH_AUTH_SOCK;
  const platforms: DockerPlatform[] = [];
  const services: string[] = [];
  /** known_hosts files of the cases: the sshd's key as `ssh-keyscan` writes it, hashed, absent, or another key. */
  const keysDir = mkdtempSync(join(tmpdir(), 'baton-pd-known-hosts-'));
  const knownHosts = { plain: join(keysDir, 'plain'), hashed: join(keysDir, 'hashed'), other: join(keysDir, 'other'), changed: join(keysDir, 'changed') };
  /** The sshd's host key as `ssh` prints it. */
  let hostFingerprint = '';

  beforeAll(async () => {
    local = await ensureDockerEngine();
    const built = testServiceImage(local);
    [tls, ssh, stranger] = await Promise.all([startTlsDockerEngine({ name: 'tls' }), startSshDockerEngine({ name: 'ssh' }), startSshAgent()]);
    ({ tag: image, id: imageId } = await built);
    await Promise.all([copyImage(local, tls, image), copyImage(local, ssh, image)]);
    // As for the Docker CLI: the platform takes ssh keys from the agent in SSH_AUTH_SOCK.
    process.env.SSH_AUTH_SOCK = ssh.agent.socketPath;
    const [hostName, type, key] = ssh.knownHostsLine.split(' ') as [string, string, string];
    hostFingerprint = `SHA256:${createHash('sha256').update(Buffer.from(key, 'base64')).digest('base64').replace(/=+$/, '')}`;
    const salt = randomBytes(20);
    const hashedName = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(hostName).digest('base64')}`;
    // Another ed25519 public key (the deployer's) stands in for a host key that changed.
    const otherKey = readFileSync(`${ssh.identityFile}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts.plain, `# the test's sshd\n${ssh.knownHostsLine}\n`);
    writeFileSync(knownHosts.hashed, `${hashedName} ${type} ${key}\n`);
    writeFileSync(knownHosts.other, `elsewhere.example.org ${otherKey}\n[127.0.0.1]:1 ${type} ${key}\n`);
    writeFileSync(knownHosts.changed, `${hostName} ${otherKey}\n`);
  }, 300_000);

  afterEach(async () => {
    for (const platform of platforms.splice(0)) await platform.close();
    for (const service of services.splice(0)) {
      for (const engine of [tls, ssh]) if (engine !== undefined) await removeServiceContainers(engine, service).catch(() => undefined);
    }
  }, 60_000);

  afterAll(async () => {
    if (authSockBefore === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = authSockBefore;
    await Promise.all([tls?.stop(), ssh?.stop(), stranger?.stop()]);
    rmSync(keysDir, { recursive: true, force: true });
  }, 120_000);

  /** A platform made the way `baton deploy` makes it from `platform: { kind: 'docker', ...options }`. */
  const platformWith = (options: Record<string, unknown>): DockerPlatform => {
    const service = `pd-remote-${process.pid}-${(serial += 1)}`;
    services.push(service);
    const platform = platformProvider.create({
      service,
      dir: '/nonexistent-not-used-by-docker',
      artifactsDir: '/nonexistent-not-used-by-docker',
      options: { engineTimeoutMs: WORKING_TIMEOUT_MS, ...options },
      port: 'announce',
      listenTimeoutMs: 60_000,
      routerDrainsFirst: false,
    }) as DockerPlatform;
    platforms.push(platform);
    return platform;
  };
  const tlsHost = (): Record<string, unknown> => ({ name: 'tls', docker: tls!.docker, tls: tls!.tls, address: tls!.address });
  const sshHost = (): Record<string, unknown> => ({ name: 'ssh', docker: ssh!.docker, address: ssh!.address, ssh: { knownHosts: knownHosts.plain } });

  /** start() must fail with BATON_ERR_PLATFORM naming the engine, within a few engine time limits (never a hang). */
  const expectStartRefused = async (platform: DockerPlatform, engine: string, because: RegExp): Promise<void> => {
    const at = Date.now();
    const error = await platform.start({ version: 'v1', image }, { id: 'v1-1' }).then(
      () => undefined,
      (caught: Error & { code?: string }) => caught,
    );
    const elapsed = Date.now() - at;
    console.log(`refused by ${engine} after ${elapsed} ms: ${error?.message}`);
    expect(error?.code).toBe('BATON_ERR_PLATFORM');
    expect(error?.message).toContain(`no engine answered, so no instance can start: ${engine} (`);
    expect(error?.message).toMatch(because);
    expect(elapsed).toBeLessThan(REFUSAL_TIMEOUT_MS * 3);
  };

  it('tcp+TLS: an instance starts on the engine, answers on its address, and stops', async () => {
    const platform = platformWith({ hosts: [tlsHost()] });
    let at = Date.now();
    const release = { version: 'v1', image, artifact: await platform.artifact({ version: 'v1', image }) };
    const pinnedMs = Date.now() - at;
    expect(release.artifact).toMatchObject({ digest: imageId });
    at = Date.now();
    const instance: DockerInstanceRecord = await platform.start(release, { id: 'v1-1' });
    console.log(`over tcp+TLS: artifact ${pinnedMs} ms, start to listening ${Date.now() - at} ms`);
    expect(instance).toMatchObject({ host: tls!.address, container: { engine: 'tls' } });
    expect(await fetchText(instance.url)).toMatchObject({ status: 200, body: 'v1 v1-1' });
    expect((await platform.instances()).map((found) => found.id)).toEqual(['v1-1']);
    expect(await platform.stop(instance, { deadlineMs: 5_000 })).toMatchObject({ code: 0, signal: null });
    expect(await platform.instances()).toEqual([]);
  }, 180_000);

  it('ssh://: an instance starts on the engine behind sshd, answers on its address, and stops', async () => {
    const platform = platformWith({ hosts: [sshHost()] });
    let at = Date.now();
    const release = { version: 'v1', image, artifact: await platform.artifact({ version: 'v1', image }) };
    const pinnedMs = Date.now() - at;
    at = Date.now();
    const instance: DockerInstanceRecord = await platform.start(release, { id: 'v1-1' });
    console.log(`over ssh: artifact ${pinnedMs} ms, start to listening ${Date.now() - at} ms`);
    expect(instance).toMatchObject({ host: ssh!.address, container: { engine: 'ssh' } });
    expect(await fetchText(instance.url)).toMatchObject({ status: 200, body: 'v1 v1-1' });
    // The container is on the private engine sshd leads to, not on the machine's.
    expect((await dockerOf(ssh!).getContainer(instance.container.id).inspect()).State.Running).toBe(true);
    expect((await platform.instances()).map((found) => found.id)).toEqual(['v1-1']);
    expect(await platform.stop(instance, { deadlineMs: 5_000 })).toMatchObject({ code: 0, signal: null });
    expect(await platform.instances()).toEqual([]);
  }, 300_000);

  it('artifact() copies the image from the local engine to the TLS and ssh engines, same digest on each', async () => {
    await Promise.all([dockerOf(tls!).getImage(image).remove({ force: true }), dockerOf(ssh!).getImage(image).remove({ force: true })]);
    try {
      const platform = platformWith({ hosts: [{ name: 'local', docker: local.docker }, tlsHost(), sshHost()] });
      const artifact = await platform.artifact({ version: 'v1', image });
      expect(artifact).toMatchObject({ kind: 'image', digest: imageId });
      expect((await dockerOf(tls!).getImage(image).inspect()).Id).toBe(imageId);
      expect((await dockerOf(ssh!).getImage(image).inspect()).Id).toBe(imageId);
    } finally {
      // The other cases need the image on both engines whatever happened here.
      await Promise.all([copyImage(local, tls!, image), copyImage(local, ssh!, image)]);
    }
  }, 300_000);

  // Found with this suite: engine.ts as committed in 94c4d8f gave tcp and ssh engines
  // dockerode's `connectionTimeout: engineTimeoutMs`. docker-modem 5.0.7 clears that
  // timer only when the *response* arrives (its 'connect' listener is for HTTP
  // CONNECT, not for the socket), so it cut every call at engineTimeoutMs: a stop
  // whose engine waits `t` seconds for a container that ignores SIGTERM (or a slow
  // container start) ended in ECONNRESET "socket hang up", and stop() rejected as if
  // the engine were unreachable. Unix sockets were not affected. The platform now
  // bounds each call with its own timer only; this fails if that comes back.
  it('tcp+TLS: stop waits out a drain budget longer than engineTimeoutMs, then SIGKILL', async () => {
    const platform = platformWith({ engineTimeoutMs: 3_000, hosts: [tlsHost()] });
    const ignoresSigterm =
      "process.on('SIGTERM',()=>{});require('http').createServer((q,s)=>s.end('x')).listen(+process.env.PORT,'0.0.0.0',()=>console.log(JSON.stringify({event:'listening',port:+process.env.PORT})))";
    const instance = await platform.start({ version: 'v1', image, command: NODE_IN_IMAGE, args: ['-e', ignoresSigterm] }, { id: 'v1-1' });
    expect(await platform.stop(instance, { deadlineMs: 6_000 })).toMatchObject({ signal: 'SIGKILL' });
  }, 120_000);

  it('tcp+TLS with a CA that did not sign the engine\'s certificate: BATON_ERR_PLATFORM naming the engine', async () => {
    const platform = platformWith({ engineTimeoutMs: REFUSAL_TIMEOUT_MS, hosts: [{ ...tlsHost(), name: 'tls-wrong-ca', tls: { ...tls!.tls, ca: tls!.untrusted.ca } }] });
    await expectStartRefused(platform, 'tls-wrong-ca', /certificate/i);
  });

  it('tcp+TLS with a client certificate the engine does not trust: BATON_ERR_PLATFORM naming the engine', async () => {
    const platform = platformWith({ engineTimeoutMs: REFUSAL_TIMEOUT_MS, hosts: [{ ...tlsHost(), name: 'tls-stranger', tls: { ...tls!.tls, cert: tls!.untrusted.cert, key: tls!.untrusted.key } }] });
    await expectStartRefused(platform, 'tls-stranger', /certificate|alert|socket hang up|ECONNRESET/i);
  });

  it('tcp:// without tls to the engine\'s TLS port (allowed on loopback): BATON_ERR_PLATFORM naming the engine', async () => {
    const platform = platformWith({ engineTimeoutMs: REFUSAL_TIMEOUT_MS, hosts: [{ name: 'tls-plain', docker: tls!.docker, address: tls!.address }] });
    await expectStartRefused(platform, 'tls-plain', /HTTPS|TLS|400/i);
  });

  it('ssh:// with an agent whose key the host does not let in: BATON_ERR_PLATFORM naming the engine', async () => {
    // The platform reads SSH_AUTH_SOCK when it connects: there is no per-host identity to give it.
    process.env.SSH_AUTH_SOCK = stranger!.socketPath;
    let platform: DockerPlatform;
    try {
      platform = platformWith({ engineTimeoutMs: REFUSAL_TIMEOUT_MS, hosts: [{ ...sshHost(), name: 'ssh-locked' }] });
    } finally {
      process.env.SSH_AUTH_SOCK = ssh!.agent.socketPath;
    }
    await expectStartRefused(platform, 'ssh-locked', /authentication/i);
  });

  it('ssh:// with the host key hashed in known_hosts (|1|salt|hash, as HashKnownHosts writes it): the engine answers', async () => {
    const platform = platformWith({ hosts: [{ ...sshHost(), ssh: { knownHosts: knownHosts.hashed } }] });
    expect(await platform.artifact({ version: 'v1', image })).toMatchObject({ digest: imageId });
  }, 180_000);

  it('ssh:// with identityFile and no SSH agent at all: the key file logs in', async () => {
    delete process.env.SSH_AUTH_SOCK;
    let platform: DockerPlatform;
    try {
      platform = platformWith({ hosts: [{ ...sshHost(), ssh: { knownHosts: knownHosts.plain, identityFile: ssh!.identityFile } }] });
    } finally {
      process.env.SSH_AUTH_SOCK = ssh!.agent.socketPath;
    }
    expect(await platform.artifact({ version: 'v1', image })).toMatchObject({ digest: imageId });
  }, 180_000);

  it('ssh:// to a host whose key is not in known_hosts: refused, naming the engine and the key\'s fingerprint, and how to add it', async () => {
    const platform = platformWith({ engineTimeoutMs: WORKING_TIMEOUT_MS, hosts: [{ ...sshHost(), name: 'ssh-unknown', ssh: { knownHosts: knownHosts.other } }] });
    await expectStartRefused(platform, 'ssh-unknown', new RegExp(`engine ssh-unknown \\(ssh://\\S+\\): the host's SSH key is not known: \\[127\\.0\\.0\\.1\\]:${ssh!.sshd.port} offers the ssh-ed25519 key ${escape(hostFingerprint)}, which ${escape(knownHosts.other)} does not hold`));
    await expectStartRefused(platform, 'ssh-unknown', new RegExp(escape(`ssh-keyscan -p ${ssh!.sshd.port} 127.0.0.1 >> ${knownHosts.other}`)));
  }, 180_000);

  it('ssh:// to a host whose key changed: refused, naming the engine, the key offered and the one known_hosts holds', async () => {
    const platform = platformWith({ engineTimeoutMs: WORKING_TIMEOUT_MS, hosts: [{ ...sshHost(), name: 'ssh-changed', ssh: { knownHosts: knownHosts.changed } }] });
    await expectStartRefused(platform, 'ssh-changed', new RegExp(`engine ssh-changed \\(ssh://\\S+\\): the host's SSH key CHANGED: .* offers the ssh-ed25519 key ${escape(hostFingerprint)}, but ${escape(knownHosts.changed)} holds another \\(line 1: ssh-ed25519 key SHA256:`));
  }, 180_000);

  it('ssh:// to a host where nothing listens: BATON_ERR_PLATFORM naming the engine', async () => {
    const port = await closedPort();
    const platform = platformWith({ engineTimeoutMs: REFUSAL_TIMEOUT_MS, hosts: [{ name: 'ssh-down', docker: `ssh://root@127.0.0.1:${port}`, address: ssh!.address }] });
    await expectStartRefused(platform, 'ssh-down', /ECONNREFUSED/);
  });

  it('ssh:// to a port that accepts but never speaks SSH: BATON_ERR_PLATFORM within the engine time limit', async () => {
    const held: Socket[] = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const platform = platformWith({ engineTimeoutMs: REFUSAL_TIMEOUT_MS, hosts: [{ name: 'ssh-silent', docker: `ssh://root@127.0.0.1:${port}`, address: ssh!.address }] });
      await expectStartRefused(platform, 'ssh-silent', /no answer within|timed out|timeout/i);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A port nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

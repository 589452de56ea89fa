import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { platformProvider, resolveDockerConfig } from './index.js';

const settings = (options: Record<string, unknown>) => ({
  service: 'orders',
  dir: '/tmp/unused',
  artifactsDir: '/tmp/unused-artifacts',
  options,
  port: 'announce' as const,
  listenTimeoutMs: 5000,
  routerDrainsFirst: false,
});

function configError(options: Record<string, unknown>, env: Record<string, string | undefined> = {}): Error & { code?: string } {
  try {
    resolveDockerConfig(options, env);
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the config to be refused');
}

describe('docker platform settings', () => {
  const certs = mkdtempSync(join(tmpdir(), 'baton-docker-tls-'));
  for (const name of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(certs, name), '-----BEGIN CERTIFICATE-----\n');
  afterAll(() => rmSync(certs, { recursive: true, force: true }));

  it('a bad config is one BATON_ERR_DEPLOY_CONFIG naming every bad field and what it accepts, from create', () => {
    const options = {
      hosts: [{ docker: 'http://a:2375' }, { name: 'b c', docker: 'tcp://10.0.0.2' }, { docker: 'ssh://deploy:pw@10.0.0.3' }],
      containerPort: 70000,
      network: 'bridge',
      resources: { memory: '3x', cpus: 0, pidsLimit: 1.5 },
      labels: { 'baton.service': 'x', team: 7 },
      engineTimeoutMs: -1,
      mounts: [{ source: 'relative', target: '/data' }],
      replicas: 3,
    };
    let error: (Error & { code?: string }) | undefined;
    try {
      platformProvider.create(settings(options));
    } catch (caught) {
      error = caught as Error & { code?: string };
    }
    expect(error?.code).toBe('BATON_ERR_DEPLOY_CONFIG');
    const message = error?.message ?? '';
    for (const field of [
      'platform.hosts[0].docker must be unix:///path/to/docker.sock, tcp://host:2376 or ssh://user@host[:port]; got "http://a:2375"',
      'platform.hosts[1].name must be 1–63 letters',
      'platform.hosts[1].docker must name the port, as tcp://10.0.0.2:2376',
      'platform.hosts[1].tls is required for a tcp:// engine that is not on this machine',
      'platform.hosts[2].docker must not hold a password',
      'platform.containerPort must be a port number 1–65535; got 70000',
      'platform.network must be a user-defined network',
      "platform.resources.memory must be at least 6m, as '256m', '1g' or a number of bytes; got \"3x\"",
      'platform.resources.cpus must be a number of CPUs ≥ 0.01',
      'platform.resources.pidsLimit must be an integer ≥ 1; got 1.5',
      'platform.labels.baton.service: labels starting with baton. are Baton\'s own',
      'platform.labels.team must be a string; got 7',
      'platform.engineTimeoutMs must be a number of milliseconds ≥ 100; got -1',
      'platform.mounts[0].source must be an absolute path',
      'platform.replicas is not a setting of the docker platform',
    ]) {
      expect(message).toContain(field);
    }
  });

  it('resolves the defaults: one engine from DOCKER_HOST or the default socket, published on its loopback address', () => {
    expect(resolveDockerConfig({}, {}).hosts).toEqual([
      { name: 'local', docker: 'unix:///var/run/docker.sock', connection: { kind: 'unix', socketPath: '/var/run/docker.sock' }, address: '127.0.0.1', bindAddress: '127.0.0.1' },
    ]);
    const config = resolveDockerConfig({}, { DOCKER_HOST: 'unix:///run/other/docker.sock' });
    expect(config).toMatchObject({ containerPort: 8080, engineTimeoutMs: 10_000, init: true, hosts: [{ name: 'run-other-docker.sock', connection: { kind: 'unix', socketPath: '/run/other/docker.sock' } }] });
  });

  it('a remote host is reached at its URL host, publishes on every interface, and reads its TLS files at once', () => {
    const config = resolveDockerConfig(
      {
        hosts: [
          { name: 'a', docker: 'tcp://10.0.0.2:2376', tls: { ca: join(certs, 'ca.pem'), cert: join(certs, 'cert.pem'), key: join(certs, 'key.pem') } },
          { docker: 'ssh://deploy@10.0.0.3:2222', address: '192.168.1.3' },
          { docker: 'unix:///run/b.sock', address: '127.0.0.5' },
        ],
        resources: { memory: '256m', cpus: 0.5, pidsLimit: 64 },
      },
      { SSH_AUTH_SOCK: '/tmp/agent.sock' },
    );
    expect(config.hosts.map((host) => [host.name, host.address, host.bindAddress, host.connection.kind])).toEqual([
      ['a', '10.0.0.2', '0.0.0.0', 'tcp'],
      ['10.0.0.3', '192.168.1.3', '0.0.0.0', 'ssh'],
      ['run-b.sock', '127.0.0.5', '127.0.0.5', 'unix'],
    ]);
    // The agent is the one of the env the config was checked with; the host key is checked against the user's known_hosts.
    expect(config.hosts[1]?.connection).toEqual({ kind: 'ssh', host: '10.0.0.3', port: 2222, username: 'deploy', agent: '/tmp/agent.sock', knownHosts: join(homedir(), '.ssh', 'known_hosts') });
    expect(config.resources).toEqual({ memoryBytes: 256 * 1024 * 1024, nanoCpus: 500_000_000, pidsLimit: 64 });
  });

  it('names a missing TLS file, an ssh engine without an agent and two engines of one name', () => {
    const error = configError({
      hosts: [
        { name: 'x', docker: 'tcp://10.0.0.2:2376', tls: { ca: join(certs, 'nope.pem'), cert: join(certs, 'cert.pem'), key: join(certs, 'key.pem') } },
        { name: 'x', docker: 'ssh://deploy@10.0.0.3' },
      ],
    });
    expect(error.code).toBe('BATON_ERR_DEPLOY_CONFIG');
    expect(error.message).toContain(`platform.hosts[0].tls.ca: cannot read ${join(certs, 'nope.pem')} (ENOENT)`);
    expect(error.message).toContain('platform.hosts[1].docker is an ssh:// engine, but no SSH agent runs (SSH_AUTH_SOCK is not set)');
    const twins = configError({ hosts: [{ name: 'x', docker: 'unix:///a.sock' }, { name: 'x', docker: 'unix:///b.sock' }] });
    expect(twins.message).toContain('platform.hosts[1].name: two engines are called "x"; give each a name of its own');
  });

  it('ssh settings: a known_hosts file and an identity file are read at once; every bad one is named in one error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-docker-ssh-'));
    try {
      const knownHosts = join(dir, 'known_hosts');
      writeFileSync(knownHosts, '');
      const notAKey = join(dir, 'not-a-key');
      writeFileSync(notAKey, 'hello\n');
      const good = resolveDockerConfig({ hosts: [{ docker: 'ssh://deploy@10.0.0.3', ssh: { knownHosts } }] }, { SSH_AUTH_SOCK: '/tmp/agent.sock' });
      expect(good.hosts[0]?.connection).toMatchObject({ kind: 'ssh', knownHosts, agent: '/tmp/agent.sock' });
      const error = configError({
        hosts: [
          { name: 'a', docker: 'ssh://deploy@10.0.0.3', ssh: { knownHosts: join(dir, 'missing'), identityFile: notAKey, user: 'x' } },
          { name: 'b', docker: 'ssh://deploy@10.0.0.4', ssh: { identityFile: join(dir, 'absent-key') } },
          { name: 'c', docker: 'ssh://deploy@10.0.0.5', ssh: 'yes' },
          { name: 'd', docker: 'unix:///d.sock', ssh: { knownHosts } },
        ],
      });
      expect(error.code).toBe('BATON_ERR_DEPLOY_CONFIG');
      expect(error.message).toContain(`platform.hosts[0].ssh.knownHosts: ${join(dir, 'missing')} does not exist`);
      expect(error.message).toContain(`platform.hosts[0].ssh.identityFile: ${notAKey} is not a private key Baton can use`);
      expect(error.message).toContain('platform.hosts[0].ssh.user is not an ssh setting (it takes knownHosts, identityFile)');
      expect(error.message).toContain(`platform.hosts[1].ssh.identityFile: cannot read ${join(dir, 'absent-key')} (ENOENT)`);
      expect(error.message).toContain('platform.hosts[2].ssh must be { knownHosts?, identityFile? }');
      expect(error.message).toContain('platform.hosts[3].ssh is for ssh:// engines only');
      // An identity file stands in for the agent: no "no SSH agent runs" for a or b (the env has none).
      expect(error.message).not.toMatch(/hosts\[[01]\]\.docker is an ssh:\/\/ engine, but no SSH agent runs/);
      expect(error.message).toContain('platform.hosts[2].docker is an ssh:// engine, but no SSH agent runs');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

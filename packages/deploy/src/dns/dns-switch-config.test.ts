import { describe, expect, it } from 'vitest';
import { problemsOf } from '../config-problems.test.fixtures.js';
import { describeStep, dnsSwitchSettings, planDeploy, resolveDeployConfig, type BlueGreenStrategy, type DnsSwitchConfig } from '../index.js';

const release = { version: 'v2', command: 'node', args: ['dist/main.js'] };
const dns = {
  kind: 'dns',
  server: '10.0.0.53',
  zone: 'example.com',
  name: 'orders.example.com',
  key: { name: 'baton-deploy', secretEnv: 'BATON_DNS_KEY' },
  stacks: { blue: { address: '10.0.1.10' }, green: { address: '10.0.2.10' } },
};

function configWith(switchConfig: unknown, router: Record<string, unknown> = { port: 8080 }): unknown {
  return { service: 'orders', release, router, strategy: { type: 'blue-green', switch: switchConfig } };
}


describe('strategy.switch: blue/green by DNS', () => {
  it('fills in the defaults, writes the server as host:port, and keeps names in lower case without the root dot', () => {
    const config = resolveDeployConfig(configWith({ ...dns, name: 'Orders.Example.com.' }), { cwd: '/srv/orders' });
    const strategy = config.strategy as BlueGreenStrategy;
    expect(strategy.switch).toEqual({ ...dns, name: 'orders.example.com', server: '10.0.0.53:53', key: { ...dns.key, algorithm: 'hmac-sha256' }, ttl: 60, marginMs: 5000, deadlineMs: 600_000 });
    expect(dnsSwitchSettings(strategy.switch ?? dns as never).server).toEqual({ host: '10.0.0.53', port: 53 });
    const v6 = resolveDeployConfig(configWith({ ...dns, server: '[::1]:5353' }), { cwd: '/' }).strategy as BlueGreenStrategy;
    expect(dnsSwitchSettings(v6.switch ?? (dns as never)).server).toEqual({ host: '::1', port: 5353 });
  });

  it('refuses each bad field with what it should be, and never asks for the secret itself', () => {
    const message = problemsOf(
      configWith({
        kind: 'dns',
        server: 'ns1:99999',
        zone: 'example.com',
        name: 'orders.example.org',
        key: { name: 'baton', algorithm: 'rot13', secretEnv: 'c2VjcmV0PT0=' },
        ttl: 30,
        lowerTtlTo: 60,
        stacks: { blue: { address: '10.0.1.10' }, green: { address: '10.0.1.10' }, red: { address: '10.0.3.10' } },
      }),
    );
    expect(message).toContain('strategy.switch.server');
    expect(message).toContain('orders.example.org is not in the zone example.com');
    expect(message).toContain('strategy.switch.key.algorithm: one of hmac-sha256');
    expect(message).toContain('strategy.switch.key.secretEnv: the name of the environment variable');
    expect(message).toContain('strategy.switch.lowerTtlTo: a TTL below ttl (30 s)');
    expect(message).toContain('blue and green need addresses of their own');
    expect(message).toContain('strategy.switch.stacks.red');
  });

  it('refuses a switch without a fixed router port, mixed address families, and a CNAME target for one color only', () => {
    expect(problemsOf(configWith(dns, {}))).toContain('router.port: blue/green by DNS needs a fixed port');
    expect(problemsOf(configWith({ ...dns, stacks: { blue: { address: '10.0.1.10' }, green: { address: 'fd00::10' } } }))).toContain('both addresses IPv4 (an A record) or both IPv6 (AAAA)');
    expect(problemsOf(configWith({ ...dns, stacks: { blue: { address: '10.0.1.10', target: 'blue.example.com' }, green: { address: '10.0.2.10' } } }))).toContain('a target for both colors');
    expect(problemsOf(configWith({ kind: 'weights' }))).toContain("strategy.switch: { kind: 'dns'");
    expect(problemsOf({ service: 'orders', release, strategy: { type: 'canary', steps: [{ setWeight: 10 }], switch: dns } })).toContain('strategy.switch');
  });

  it('plans: lower the TTL, start green, wait the old TTL out, switch, keep blue until its traffic stops, retire it, put the TTL back', () => {
    const strategy: BlueGreenStrategy = { type: 'blue-green', rollbackWindowMs: 30_000, analysisMs: 10_000, switch: { ...(dns as unknown as DnsSwitchConfig), ttl: 300, lowerTtlTo: 30, marginMs: 5000 } };
    const steps = planDeploy(strategy, 3, { hasStable: true });
    expect(steps.map((step) => describeStep(step, { candidate: 'v2', stable: 'v1' }))).toEqual([
      'v2 gets 0% of traffic',
      "lower the DNS record's TTL to 30 s",
      'v2 to 3 instances',
      'wait out the old TTL (300 s) before the DNS switch',
      'v2 gets 100% of traffic',
      'analysis over 10 s',
      'keep v1 up after the DNS switch until its traffic stops: at least 30 s, then no new request for the TTL (30 s) + 5 s, at most 600 s',
      'v1 to 0 instances',
      "put the DNS record's TTL back to 300 s",
    ]);
    // Without a lowered TTL: no TTL steps, and the straggler wait uses the record's own TTL.
    const plain = planDeploy({ type: 'blue-green', switch: dns as never }, 2, { hasStable: true });
    expect(plain.map((step) => step.kind)).toEqual(['traffic', 'scale', 'traffic', 'stragglers', 'scale']);
    expect(plain[3]).toMatchObject({ kind: 'stragglers', holdMs: 30_000, ttl: 60, marginMs: 5000, deadlineMs: 600_000 });
  });
});

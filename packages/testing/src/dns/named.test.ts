import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { namedUnavailable, startNamed, type RunningNamed } from './named.js';

const reason = namedUnavailable();

function dig(named: RunningNamed, name: string, type: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('dig', [`@${named.host}`, '-p', String(named.port), '+norecurse', '+noall', '+answer', '+time=2', '+tries=1', name, type], { encoding: 'utf8', timeout: 10_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout.trim().replace(/\s+/g, ' ')),
    );
  });
}

/** One update signed with the server's key, the secret on nsupdate's stdin. */
function update(named: RunningNamed, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('nsupdate', [], { encoding: 'utf8', timeout: 10_000 }, (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve()));
    child.stdin?.end(`server ${named.host} ${named.port}\nzone ${named.zone}\nkey ${named.key.algorithm}:${named.key.name} ${named.key.secret}\n${line}\nsend\n`);
  });
}

describe.skipIf(reason !== undefined)(`startNamed${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const started: RunningNamed[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((named) => named.close()));
  });

  it('serves its zone and records, takes signed updates, and keeps them over a stop and start on the same port', async () => {
    const named = await startNamed({ zone: 'harness.test', records: [{ name: 'orders', type: 'A', ttl: 60, value: '127.0.0.2' }, { name: 'web.harness.test', type: 'CNAME', ttl: 30, value: 'blue.harness.test' }] });
    started.push(named);
    expect(await dig(named, 'orders.harness.test', 'A')).toBe('orders.harness.test. 60 IN A 127.0.0.2');
    expect(await dig(named, 'web.harness.test', 'CNAME')).toBe('web.harness.test. 30 IN CNAME blue.harness.test.');
    await update(named, 'update add green.harness.test 30 A 127.0.0.3');

    const port = named.port;
    await named.stop();
    await expect(dig(named, 'orders.harness.test', 'A')).rejects.toThrow();
    await named.start();
    expect(named.port).toBe(port);
    expect(await dig(named, 'green.harness.test', 'A')).toBe('green.harness.test. 30 IN A 127.0.0.3');
    expect(named.log()).toContain('running');
    expect(named.log()).not.toContain(named.key.secret);
  });

  it('gives two servers two ports, and removes its directory on close', async () => {
    const [a, b] = await Promise.all([startNamed(), startNamed()]);
    started.push(a, b);
    expect(a.port).not.toBe(b.port);
    expect(a.key.secret).not.toBe(b.key.secret);
    await a.close();
    expect(existsSync(a.dir)).toBe(false);
    expect(await dig(b, 'example.test', 'SOA')).toContain('example.test. 300 IN SOA ns.example.test.');
  });

  it('says why it cannot listen on a loopback address no interface holds', async () => {
    await expect(startNamed({ address: '127.0.0.254' })).rejects.toThrow('no interface holds 127.0.0.254, and named listens only on interface addresses');
  });
});

// The record a DNS switch changes, over a real BIND named: signed dynamic updates through the real
// nsupdate, reads through the real dig, and the server's real refusals.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { namedUnavailable, startNamed, type RunningNamed } from '@baton/testing';
import { dnsRecord, type DnsRecordTarget } from './dns-record.js';
import { runDnsTool } from './run-dns-tool.js';

const reason = namedUnavailable();

describe.skipIf(reason !== undefined)(`dnsRecord over a real named${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let named: RunningNamed;
  /** Every secret a test handed out, right or wrong: none may show in an error. */
  const secrets: string[] = [];

  beforeAll(async () => {
    named = await startNamed({
      records: [
        { name: 'orders', type: 'A', ttl: 60, value: '127.0.0.2' },
        { name: 'legacy.example.test', type: 'A', ttl: 60, value: '127.0.0.9' },
      ],
    });
    secrets.push(named.key.secret);
  });
  afterAll(async () => {
    await named?.close();
  });

  function target(name: string, type: DnsRecordTarget['type'], overrides: Partial<DnsRecordTarget> = {}): DnsRecordTarget {
    return { server: { host: named.host, port: named.port }, zone: named.zone, name, type, key: { ...named.key }, ...overrides };
  }

  /** A fresh random secret of the right shape that the server does not know. */
  function wrongSecret(): string {
    const secret = randomBytes(32).toString('base64');
    secrets.push(secret);
    return secret;
  }

  /** The BATON_ERR_DNS a promise rejects with, checked to name the server, zone and record and no secret. */
  async function dnsError(promise: Promise<unknown>, t: DnsRecordTarget): Promise<string> {
    const error = await promise.then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(isBatonError(error, 'BATON_ERR_DNS'), `expected BATON_ERR_DNS, got ${String(error)}`).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(`${t.server.host} port ${t.server.port}`);
    expect(message).toContain(`zone ${t.zone}`);
    expect(message).toContain(t.name);
    for (const secret of secrets) expect(message).not.toContain(secret);
    expect(JSON.stringify(error)).not.toContain(t.key.secret);
    return message;
  }

  it('writes an A record the server did not have, and reads it back', async () => {
    const record = dnsRecord(target('new.example.test', 'A'));
    expect(await record.read()).toBeUndefined();
    await record.write({ values: ['127.0.0.3'], ttl: 30 });
    expect(await record.read()).toEqual({ values: ['127.0.0.3'], ttl: 30 });
  });

  it('switches an A record from one address to another: only the new one is answered', async () => {
    const record = dnsRecord(target('orders.example.test', 'A'));
    expect(await record.read()).toEqual({ values: ['127.0.0.2'], ttl: 60 });
    await record.write({ values: ['127.0.0.3'], ttl: 60 });
    expect(await record.read()).toEqual({ values: ['127.0.0.3'], ttl: 60 });
    await record.write({ values: ['127.0.0.5', '127.0.0.4'], ttl: 60 });
    expect(await record.read()).toEqual({ values: ['127.0.0.4', '127.0.0.5'], ttl: 60 });
  });

  it('changes the TTL alone', async () => {
    const record = dnsRecord(target('ttl.example.test', 'A'));
    await record.write({ values: ['127.0.0.6'], ttl: 300 });
    await record.write({ values: ['127.0.0.6'], ttl: 5 });
    expect(await record.read()).toEqual({ values: ['127.0.0.6'], ttl: 5 });
  });

  it('points a CNAME at a per-color name and switches it (a trailing dot or none, any case)', async () => {
    const record = dnsRecord(target('web.example.test.', 'CNAME'));
    await record.write({ values: ['blue.example.test'], ttl: 30 });
    expect(await record.read()).toEqual({ values: ['blue.example.test'], ttl: 30 });
    await record.write({ values: ['Green.Example.Test.'], ttl: 30 });
    expect(await record.read()).toEqual({ values: ['green.example.test'], ttl: 30 });
  });

  it('writes an AAAA record given in any IPv6 spelling', async () => {
    const record = dnsRecord(target('v6.example.test', 'AAAA'));
    await record.write({ values: ['2001:DB8:0:0:0:0:0:1'], ttl: 30 });
    expect(await record.read()).toEqual({ values: ['2001:db8::1'], ttl: 30 });
  });

  it('refuses a wrong key secret (NOTAUTH): a clear error, and the record is unchanged', async () => {
    const wrong = target('orders.example.test', 'A', { key: { ...named.key, secret: wrongSecret() } });
    const before = await dnsRecord(target('orders.example.test', 'A')).read();
    const message = await dnsError(dnsRecord(wrong).write({ values: ['127.0.0.66'], ttl: 60 }), wrong);
    expect(message).toContain(`refused the TSIG key "${named.key.name}" (hmac-sha256)`);
    expect(message).toMatch(/NOTAUTH\(BADSIG\)/);
    expect(message).toMatch(/check the key's name, secret and algorithm/i);
    expect(message).toContain('The record was not changed.');
    expect(await dnsRecord(target('orders.example.test', 'A')).read()).toEqual(before);
  });

  it('refuses a key name the server does not know (NOTAUTH), and the record is unchanged', async () => {
    const wrong = target('orders.example.test', 'A', { key: { ...named.key, name: 'someone-else' } });
    const before = await dnsRecord(target('orders.example.test', 'A')).read();
    const message = await dnsError(dnsRecord(wrong).write({ values: ['127.0.0.67'], ttl: 60 }), wrong);
    expect(message).toContain('refused the TSIG key "someone-else" (hmac-sha256): NOTAUTH(BADKEY)');
    expect(await dnsRecord(target('orders.example.test', 'A')).read()).toEqual(before);
  });

  it('says so when the server does not serve the zone, and changes nothing', async () => {
    // BIND answers an update of a zone it does not serve with a plain NOTAUTH (not authoritative),
    // a name outside the zone it is given with NOTZONE; both are "wrong zone" to the user.
    const missing = target('orders.missing.test', 'A', { zone: 'missing.test' });
    const before = await dnsRecord(target('orders.example.test', 'A')).read();
    const message = await dnsError(dnsRecord(missing).write({ values: ['127.0.0.68'], ttl: 60 }), missing);
    expect(message).toContain('not authoritative for the zone missing.test (NOTAUTH)');
    expect(message).toContain('The record was not changed.');
    expect(await dnsError(dnsRecord(missing).read(), missing)).toContain('does not serve the zone missing.test');
    expect(await dnsRecord(target('orders.example.test', 'A')).read()).toEqual(before);
  });

  it('catches a record the server did not change as asked, by reading it back', async () => {
    // A real server's silent refusal: BIND accepts (NOERROR) an update that adds a CNAME beside
    // existing data but ignores the addition ("attempt to add CNAME alongside non-CNAME ignored").
    const cname = target('legacy.example.test', 'CNAME');
    const message = await dnsError(dnsRecord(cname).write({ values: ['green.example.test'], ttl: 30 }), cname);
    expect(message).toContain('the server accepted the update but answers no CNAME record where green.example.test (TTL 30) was asked');
    expect(await dnsRecord(target('legacy.example.test', 'A')).read()).toEqual({ values: ['127.0.0.9'], ttl: 60 });
  });

  it('never puts the secret in a message, even one that quotes what nsupdate printed', async () => {
    const t = target('orders.example.test', 'A');
    // nsupdate echoes a key it cannot decode ("could not create key from <secret>"): the runner here
    // hands it a secret with a character the check lets through but nsupdate rejects.
    const echoing = dnsRecord(t, { run: (program, args, options) => runDnsTool(program, args, { ...options, input: (options.input ?? '').replace(t.key.secret, `${t.key.secret}!`) }) });
    const message = await dnsError(echoing.write({ values: ['127.0.0.69'], ttl: 60 }), t);
    expect(message).toContain('<secret>');
    let invalid: unknown;
    try {
      dnsRecord({ ...t, key: { ...t.key, secret: 'not base64 at all: hunter2' } });
    } catch (error) {
      invalid = error;
    }
    expect(isBatonError(invalid, 'BATON_ERR_INVALID_OPTION')).toBe(true);
    expect((invalid as Error).message).toContain('key.secret must be the base64 of the key');
    expect((invalid as Error).message).not.toContain('hunter2');
  });

  it('refuses values that are not of the record type before anything is sent, a line break included', async () => {
    const record = dnsRecord(target('orders.example.test', 'A'));
    const before = await record.read();
    await expect(record.write({ values: ['127.0.0.7\nupdate delete legacy.example.test A'], ttl: 60 })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION' });
    await expect(record.write({ values: ['::1'], ttl: 60 })).rejects.toThrow(/"::1" is not an IPv4 address/);
    await expect(record.write({ values: [], ttl: 60 })).rejects.toThrow(/at least one value/);
    expect(() => dnsRecord(target('orders.elsewhere.test', 'A'))).toThrow(/name orders\.elsewhere\.test is not in the zone example\.test/);
    expect(await record.read()).toEqual(before);
    expect(await dnsRecord(target('legacy.example.test', 'A')).read()).toEqual({ values: ['127.0.0.9'], ttl: 60 });
  });

  it('names the Debian package when nsupdate or dig is not installed', async () => {
    const t = target('orders.example.test', 'A');
    const missing = dnsRecord(t, { run: (program, args, options) => runDnsTool(`${program}-not-installed`, args, options) });
    expect(await dnsError(missing.write({ values: ['127.0.0.70'], ttl: 60 }), t)).toContain('nsupdate is not installed (Debian: apt-get install bind9-dnsutils)');
    expect(await dnsError(missing.read(), t)).toContain('dig is not installed (Debian: apt-get install bind9-dnsutils)');
  });
});

describe.skipIf(reason !== undefined)(`dnsRecord and a server that is down${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let named: RunningNamed | undefined;
  let silent: Socket | undefined;
  afterEach(async () => {
    await named?.close();
    named = undefined;
    await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
    silent = undefined;
  });

  it('says the server cannot be reached while it is stopped, and works again once it is back', async () => {
    named = await startNamed({ records: [{ name: 'orders', type: 'A', ttl: 60, value: '127.0.0.2' }] });
    const t: DnsRecordTarget = { server: { host: named.host, port: named.port }, zone: named.zone, name: 'orders.example.test', type: 'A', key: named.key };
    const record = dnsRecord(t);
    await record.write({ values: ['127.0.0.3'], ttl: 60 });
    await named.stop();

    const writeError = await record.write({ values: ['127.0.0.4'], ttl: 60 }).catch((error: unknown) => error);
    expect(isBatonError(writeError, 'BATON_ERR_DNS')).toBe(true);
    expect((writeError as Error).message).toBe(
      `DNS record orders.example.test A (zone example.test, server ${named.host} port ${named.port}): cannot reach the server: connection refused. The record was not changed.`,
    );
    expect((writeError as Error).message).not.toContain(named.key.secret);
    await expect(record.read()).rejects.toThrow(`DNS record orders.example.test A (zone example.test, server ${named.host} port ${named.port}): cannot reach the server: connection refused.`);

    await named.start();
    // The update made before the stop is in the zone's journal; the one refused while down is not.
    expect(await record.read()).toEqual({ values: ['127.0.0.3'], ttl: 60 });
    await record.write({ values: ['127.0.0.4'], ttl: 60 });
    expect(await record.read()).toEqual({ values: ['127.0.0.4'], ttl: 60 });
  });

  it('gives up on a server that never answers within the timeout, and says the outcome is unknown', async () => {
    // A UDP socket that reads and never answers: a server dropping packets (a firewall, a hung named).
    silent = createSocket('udp4');
    const socket = silent;
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const t: DnsRecordTarget = { server: { host: '127.0.0.1', port: socket.address().port }, zone: 'example.test', name: 'orders.example.test', type: 'A', key: { name: 'k', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') }, timeoutMs: 1000 };
    const error = await dnsRecord(t).write({ values: ['127.0.0.4'], ttl: 60 }).catch((rejection: unknown) => rejection);
    expect(isBatonError(error, 'BATON_ERR_DNS')).toBe(true);
    expect((error as Error).message).toContain('cannot reach the server: no answer within 1 s (timed out). Whether the server applied the update is unknown');
    expect((error as Error).message).not.toContain(t.key.secret);
    await expect(dnsRecord(t).read()).rejects.toThrow(/cannot reach the server: timed out/);
  });
});

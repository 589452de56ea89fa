import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { haproxyAddress, haproxyRouterConfig, slotName, slotNumber, type HaproxyConfigOptions } from './haproxy-config.js';
import { checkHaproxyConfig, findHaproxy } from './haproxy-process.js';

const haproxy = findHaproxy();

function options(overrides: Partial<HaproxyConfigOptions> = {}): HaproxyConfigOptions {
  return {
    host: '127.0.0.1',
    port: 41234,
    adminSocket: '/tmp/r/admin.sock',
    serverStateFile: '/tmp/r/server-state',
    slots: 16,
    readinessPath: '/readyz',
    check: { intervalMs: 1000, fall: 2, rise: 1, timeoutMs: 2000 },
    timeouts: { connectMs: 5000, clientMs: 30_000, serverMs: 60_000, httpRequestMs: 10_000, keepAliveMs: 30_000, queueMs: 10_000, hardStopAfterMs: 120_000 },
    retries: 3,
    ...overrides,
  };
}

describe('haproxyRouterConfig', () => {
  it('has what zero downtime needs: noreuseport, an admin socket, server state across reloads, pooled connections, redispatch', () => {
    const config = haproxyRouterConfig(options());
    const global = config.slice(config.indexOf('global'), config.indexOf('defaults'));
    expect(global).toMatch(/^\s+noreuseport$/m);
    expect(global).toMatch(/^\s+master-worker$/m);
    expect(global).toContain('stats socket /tmp/r/admin.sock mode 600 level admin');
    expect(global).toContain('server-state-file /tmp/r/server-state');
    expect(config).toContain('load-server-state-from-file global');
    expect(config).toContain('option idle-close-on-response');
    expect(config).toMatch(/^\s+option redispatch 1$/m);
    // Idempotent requests a dying server took are sent again; others are not.
    expect(config).toMatch(/^\s+retry-on conn-failure empty-response$/m);
    expect(config).toMatch(/^\s+http-request disable-l7-retry unless \{ method GET HEAD OPTIONS PUT DELETE \}$/m);
    expect(config).toMatch(/^\s+retries 3$/m);
    expect(config).toMatch(/^\s+http-reuse safe$/m);
    expect(config).toContain('pool-purge-delay 5s pool-max-conn -1');
    expect(config).toContain('option httpchk GET /readyz');
    expect(config).toContain('bind 127.0.0.1:41234');
    // Every slot free: one template, all in maintenance.
    expect(config).toMatch(/^\s+server-template s 1-16 127\.0\.0\.1:1 check disabled$/m);
    expect(config).not.toMatch(/del server|^\s+server s/m);
  });

  it('guards against hostile clients: maxconn, request (and buffered body) timeout, spoofed forwarding headers, /metrics and probe details', () => {
    const config = haproxyRouterConfig(options({ maxConnections: 500 }));
    // Not global: HAProxy would refuse to start where the open-files limit cannot hold it (see the HAProxy router's test).
    expect(config.slice(config.indexOf('global'), config.indexOf('defaults'))).not.toMatch(/maxconn/);
    const frontend = config.slice(config.indexOf('frontend'), config.indexOf('backend be'));
    expect(frontend).toMatch(/^\s+maxconn 500$/m);
    expect(config).toMatch(/^\s+option http-buffer-request$/m);
    expect(config).toMatch(/^\s+timeout http-request 10000ms$/m);
    expect(config).not.toMatch(/accept-invalid-http-request/);
    for (const header of ['Forwarded', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Real-IP', 'X-Forwarded-Prefix']) expect(frontend).toContain(`http-request del-header ${header}\n`);
    expect(frontend).toContain('http-request set-header X-Forwarded-Proto http\n');
    const denied = [...frontend.matchAll(/http-request deny deny_status 404 if \{ path,url_dec,lower -m reg '([^']+)' \}( \{ query -m found \})?/g)];
    expect(denied.map((match) => match[2] !== undefined)).toEqual([false, true]);
    // The regexes as HAProxy's PCRE reads them (the same syntax as JavaScript's here), on decoded, lower-cased paths.
    const [metrics, probes] = denied.map((match) => new RegExp(match[1] as string));
    for (const path of ['/metrics', '/metrics/', '//metrics', '/metrics;x', '/./metrics', '/x/../metrics', '/x;a/../metrics', '/x\\..\\metrics', '/metrics/.']) expect(metrics?.test(path), path).toBe(true);
    for (const path of ['/metricsx', '/api/metrics', '/metrics/x', '/x..metrics']) expect(metrics?.test(path), path).toBe(false);
    for (const path of ['/healthz', '/readyz/', '/./livez']) expect(probes?.test(path), path).toBe(true);
    expect(probes?.test('/orders')).toBe(false);

    const open = haproxyRouterConfig(options({ trustForwarded: true, expose: { metrics: true, probeDetails: true, metricsPaths: ['/metrics'], probePaths: ['/healthz'] } }));
    expect(open).not.toMatch(/del-header (?!Baton-)|deny_status 404/);
    // The shadow marks go, trusted or not: they are the built-in router's alone.
    expect(open).toContain('http-request del-header Baton-Shadow');
    const custom = haproxyRouterConfig(options({ expose: { metrics: false, probeDetails: true, metricsPaths: ['/internal/prom.v1'], probePaths: ['/healthz'] } }));
    const customMetrics = new RegExp(/-m reg '([^']+)'/.exec(custom)?.[1] as string);
    expect(customMetrics.test('/internal//prom.v1/')).toBe(true);
    expect(customMetrics.test('/internal/promxv1')).toBe(false);
    expect(custom).not.toMatch(/query -m found/);
  });

  it('writes occupied slots with their addresses and weights between templates of free ones', () => {
    const config = haproxyRouterConfig(
      options({
        slots: 5,
        occupied: [
          { slot: 2, id: 'v1-1', release: 'v1', address: '127.0.0.1', port: 4001, state: 'ready', weight: 100 },
          { slot: 3, id: 'v2-1', release: 'v2', address: '::1', port: 4002, state: 'drain', weight: 0 },
        ],
      }),
    );
    const servers = config.split('\n').filter((line) => /^\s+server(-template)? /.test(line)).map((line) => line.trim());
    expect(servers).toEqual([
      'server-template s 1-1 127.0.0.1:1 check disabled',
      'server s2 127.0.0.1:4001 weight 100 check',
      'server s3 ipv6@::1:4002 weight 0 check disabled',
      'server-template s 4-5 127.0.0.1:1 check disabled',
    ]);
    expect(config).toContain('# s2: v1-1 (release v1), ready');
  });

  it('with a keep-alive switch file, every answer (HAProxy\'s own too) says Connection: close while the file holds off; without one, no such rule', () => {
    const config = haproxyRouterConfig(options({ keepAliveOffFile: '/tmp/r/keepalive-off.acl' }));
    const frontend = config.slice(config.indexOf('frontend'), config.indexOf('backend be'));
    expect(frontend).toMatch(/^\s+http-after-response set-header Connection close if \{ str\(off\) -m str -f \/tmp\/r\/keepalive-off\.acl \}$/m);
    expect(haproxyRouterConfig(options())).not.toContain('http-after-response');
  });

  it('names slots s1..sN and reads them back', () => {
    expect(slotName(7)).toBe('s7');
    expect(slotNumber('s7')).toBe(7);
    expect(slotNumber('s0')).toBeUndefined();
    expect(slotNumber('x1')).toBeUndefined();
    expect(haproxyAddress('10.0.0.1', 80)).toBe('10.0.0.1:80');
    expect(haproxyAddress('::', 80)).toBe('ipv6@:::80');
  });
});

if (!haproxy) console.log('deploy: haproxy not found, skipping the haproxy -c check of the generated config (apt-get install -y haproxy)');

describe.skipIf(!haproxy)('haproxyRouterConfig with a real haproxy -c', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('is a valid HAProxy 2.6 configuration, free and occupied slots alike; a broken one is refused with HAProxy’s alert', async () => {
    dir = await mkdtemp(join(tmpdir(), 'baton-hcfg-'));
    const file = join(dir, 'haproxy.cfg');
    const config = haproxyRouterConfig(
      options({
        adminSocket: join(dir, 'admin.sock'),
        serverStateFile: join(dir, 'server-state'),
        occupied: [{ slot: 1, id: 'a', release: 'v1', address: '127.0.0.1', port: 4001, state: 'maint', weight: 1 }],
        keepAliveOffFile: join(dir, 'keepalive-off.acl'),
      }),
    );
    await writeFile(join(dir, 'keepalive-off.acl'), 'off\n');
    await writeFile(file, config);
    await expect(checkHaproxyConfig(haproxy as string, file)).resolves.toBeUndefined();
    await writeFile(file, config.replace('balance roundrobin', 'balance nonsense'));
    await expect(checkHaproxyConfig(haproxy as string, file)).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/balance only supports/) });
  });
});

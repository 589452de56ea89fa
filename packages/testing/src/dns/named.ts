// A real authoritative DNS server for tests: BIND's `named` with a zone of the test's own that
// accepts dynamic updates (RFC 2136) signed with a fresh TSIG key, on a loopback address and a free port.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, isIPv6 } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findExecutable } from '../docker/internal/processes.js';

/** A record the zone starts with. */
export interface NamedRecord {
  /** Fully qualified (`orders.example.test`, trailing dot optional) or relative to the zone (`orders`). */
  name: string;
  type: 'A' | 'AAAA' | 'CNAME';
  ttl: number;
  /** An address, or for a CNAME a fully qualified name (trailing dot optional). */
  value: string;
}

/** Options of {@link startNamed}. */
export interface StartNamedOptions {
  /** The zone it serves; default `example.test`. */
  zone?: string;
  /** Records besides the SOA and NS (`ns.<zone>`, at `address`). */
  records?: readonly NamedRecord[];
  /** The address it listens on; default `127.0.0.1` (`::1` works too). An interface must hold it: named does not listen on the rest of 127/8 (127.0.0.2 needs `ip addr add 127.0.0.2/32 dev lo` first). */
  address?: string;
}

/** The TSIG key the zone accepts updates signed with. */
export interface NamedKey {
  name: string;
  algorithm: 'hmac-sha256';
  /** Base64, 32 random bytes. */
  secret: string;
}

/** A running `named` of {@link startNamed}. */
export interface RunningNamed {
  host: string;
  port: number;
  zone: string;
  key: NamedKey;
  /** Its working directory: `named.conf`, the zone file and its journal, `named.log`. */
  dir: string;
  /** Stops it (SIGTERM, then SIGKILL after 10 s) and waits until it has exited; the zone's journal stays. */
  stop(): Promise<void>;
  /** Starts it again after {@link RunningNamed.stop}, on the same port, with the updates made so far; resolves once it answers. */
  start(): Promise<void>;
  /** Its log (stdout and stderr of every start). */
  log(): string;
  /** Stops it and removes its directory: the `afterEach`/`afterAll` of a suite. */
  close(): Promise<void>;
}

const DEBIAN_PACKAGES = 'apt-get install -y bind9 bind9-dnsutils (.ci/run installs them)';

/**
 * Why a test `named` cannot run here, or undefined when it can: suites skip
 * with this reason (`describe.skipIf`) and say so in one line.
 *
 * @example
 * const reason = namedUnavailable();
 * describe.skipIf(reason !== undefined)(`dns record${reason ? ` (skipped: ${reason})` : ''}`, () => { ... });
 */
export function namedUnavailable(): string | undefined {
  const missing = ['named', 'dig', 'nsupdate'].filter((name) => findExecutable(name) === undefined);
  return missing.length > 0 ? `${missing.join(', ')} not found: ${DEBIAN_PACKAGES}` : undefined;
}

/**
 * Starts BIND's `named` in the foreground as a child process, with a config,
 * a zone file and a working directory of its own (no system service, no rndc
 * channel, no recursion), serving `zone` on `address` and a free port, and
 * accepting dynamic updates of that zone signed with a freshly generated TSIG
 * key (`hmac-sha256`). Resolves once it answers a SOA query with this zone's
 * SOA. Throws a clear error naming the Debian packages where `named` or `dig`
 * is missing.
 *
 * @example
 * const named = await startNamed({ records: [{ name: 'orders', type: 'A', ttl: 60, value: '127.0.0.2' }] });
 * try {
 *   // nsupdate/dig against named.host, named.port with named.key
 * } finally {
 *   await named.close();
 * }
 */
export async function startNamed(options: StartNamedOptions = {}): Promise<RunningNamed> {
  const zone = (options.zone ?? 'example.test').toLowerCase().replace(/\.$/, '');
  const address = options.address ?? '127.0.0.1';
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(zone)) throw new Error(`startNamed: "${zone}" is not a zone name (like example.test)`);
  // named listens only on addresses an interface holds (its own interface scan), not on the rest of 127/8.
  const held = Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
  if (!held.includes(address)) {
    throw new Error(`startNamed: no interface holds ${address}, and named listens only on interface addresses (not on all of 127/8): use one of ${held.join(', ')}, or add it first (ip addr add ${address}/${isIPv6(address) ? 128 : 32} dev lo)`);
  }
  const named = findExecutable('named');
  const dig = findExecutable('dig');
  if (named === undefined || dig === undefined) throw new Error(`startNamed: ${named === undefined ? 'named' : 'dig'} not found: ${DEBIAN_PACKAGES}`);

  const dir = mkdtempSync(join(tmpdir(), 'baton-named-'));
  const key: NamedKey = { name: `baton-update-${randomBytes(3).toString('hex')}`, algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
  // In the SOA's mailbox: the readiness query checks it, so an answer from another server on the port never counts.
  const token = `hostmaster-${randomBytes(6).toString('hex')}`;
  const files = { conf: join(dir, 'named.conf'), zone: join(dir, `db.${zone}`), log: join(dir, 'named.log') };
  try {
    writeFileSync(files.zone, zoneFile(zone, address, token, options.records ?? []));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  let child: ChildProcess | undefined;
  let port = 0;

  const launch = async (): Promise<'ready' | 'port-taken'> => {
    writeFileSync(files.conf, namedConf({ dir, zone, address, port, key, zoneFile: files.zone }));
    // The log gathers every start; this start's lines begin here.
    const since = readLog(files.log).length;
    const thisStart = (): string => readLog(files.log).slice(since);
    const logFd = openSync(files.log, 'a');
    let exited = false;
    try {
      // -g: foreground, log to stderr, no setuid (root keeps root; no -u needed). -n 1: one worker thread, the machine is shared.
      child = spawn(named, ['-g', '-c', files.conf, '-p', String(port), '-n', '1'], { cwd: dir, stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    const started = child;
    started.once('exit', () => (exited = true));
    await new Promise<void>((resolve, reject) => {
      started.once('spawn', resolve);
      started.once('error', reject);
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      // With `reuseport no`, a port another process holds fails named's bind (it says so and goes on without it).
      if (/address in use|could not listen/i.test(thisStart())) {
        await stopChild(started);
        return 'port-taken';
      }
      if (exited) {
        const denied = /permission denied/i.test(thisStart()) && existsSync('/sys/kernel/security/apparmor')
          ? " (AppArmor's usr.sbin.named profile keeps named out of the temp dir: `aa-complain /usr/sbin/named`, or run the tests where AppArmor does not confine it)"
          : '';
        throw new Error(`startNamed: named exited before answering (port ${port})${denied}; the end of ${files.log}:\n${tail(thisStart())}`);
      }
      if (await answersSoa(dig, address, port, zone, token)) {
        // The TCP bind is logged before the zone loads, so a clash shows by now.
        if (/address in use|could not listen/i.test(thisStart())) {
          await stopChild(started);
          return 'port-taken';
        }
        return 'ready';
      }
      if (Date.now() > deadline) {
        await stopChild(started);
        throw new Error(`startNamed: named did not answer a SOA query for ${zone} at ${address}#${port} within 30 s; the end of ${files.log}:\n${tail(readLog(files.log))}`);
      }
      await sleep(20);
    }
  };

  const stop = async (): Promise<void> => {
    if (child !== undefined) await stopChild(child);
    child = undefined;
  };

  try {
    // named cannot take port 0: probe a port free for both UDP and TCP, and try another on a clash.
    let outcome: 'ready' | 'port-taken' = 'port-taken';
    for (let attempt = 0; attempt < 5 && outcome === 'port-taken'; attempt += 1) {
      port = await freeUdpTcpPort(address);
      outcome = await launch();
    }
    if (outcome === 'port-taken') throw new Error(`startNamed: every port tried on ${address} was taken before named could bind it; the end of ${files.log}:\n${tail(readLog(files.log))}`);
  } catch (error) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    host: address,
    port,
    zone,
    key,
    dir,
    stop,
    async start() {
      if (child !== undefined) return;
      if ((await launch()) === 'port-taken') {
        throw new Error(`startNamed: port ${port} on ${address} was taken by another process while named was stopped; the end of ${files.log}:\n${tail(readLog(files.log))}`);
      }
    },
    log: () => readLog(files.log),
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function namedConf(settings: { dir: string; zone: string; address: string; port: number; key: NamedKey; zoneFile: string }): string {
  const { dir, zone, address, port, key } = settings;
  const v6 = isIPv6(address);
  return `options {
  directory "${dir}";
  pid-file "${join(dir, 'named.pid')}";
  // Not /run/named/session.key, which the machine's own named (and every other test named) would share.
  session-keyfile "${join(dir, 'session.key')}";
  managed-keys-directory "${dir}";
  listen-on port ${port} { ${v6 ? 'none' : address}; };
  listen-on-v6 port ${port} { ${v6 ? address : 'none'}; };
  // Without it two nameds bind one port side by side and share its queries: a clash must fail loudly.
  reuseport no;
  recursion no;
  dnssec-validation no;
  notify no;
  allow-transfer { none; };
};
controls { };
key "${key.name}" {
  algorithm ${key.algorithm};
  secret "${key.secret}";
};
zone "${zone}" {
  type primary;
  file "${settings.zoneFile}";
  journal "${settings.zoneFile}.jnl";
  allow-update { key "${key.name}"; };
};
`;
}

function zoneFile(zone: string, address: string, token: string, records: readonly NamedRecord[]): string {
  const lines = [
    `$ORIGIN ${zone}.`,
    '$TTL 300',
    `@ IN SOA ns.${zone}. ${token}.${zone}. 1 3600 600 86400 60`,
    `@ IN NS ns.${zone}.`,
    `ns IN ${isIPv6(address) ? 'AAAA' : 'A'} ${address}`,
  ];
  for (const record of records) {
    const fields = [record.name, String(record.ttl), record.type, record.value];
    if (fields.some((field) => field === '' || /[\s;"()]/.test(field)) || !Number.isInteger(record.ttl) || record.ttl < 0) {
      throw new Error(`startNamed: record ${JSON.stringify(record)} is not a record of the zone (no spaces, a whole TTL)`);
    }
    const value = record.type === 'CNAME' ? absolute(record.value) : record.value;
    lines.push(`${ownerName(record.name, zone)} ${record.ttl} IN ${record.type} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A record name as the zone file takes it: absolute when it is the zone or inside it, else relative to the zone. */
function ownerName(name: string, zone: string): string {
  const bare = name.toLowerCase().replace(/\.$/, '');
  if (name.endsWith('.') || bare === zone || bare.endsWith(`.${zone}`)) return `${bare}.`;
  return bare;
}

function absolute(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/** Whether the server at `address#port` answers, authoritatively, the SOA of `zone` this harness wrote. */
function answersSoa(dig: string, address: string, port: number, zone: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(dig, [`@${address}`, '-p', String(port), '+norecurse', '+noall', '+answer', '+time=1', '+tries=1', `${zone}.`, 'SOA'], { timeout: 5000, encoding: 'utf8' }, (error, stdout) => {
      resolve(!error && stdout.toLowerCase().includes(` ${token}.${zone}. `));
    });
  });
}

/** A port free for both UDP and TCP on `address` a moment ago (named takes both; node binds without SO_REUSEADDR for UDP, so a port a named holds shows as taken). */
async function freeUdpTcpPort(address: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen({ port: 0, host: address, exclusive: true }, () => {
        const bound = server.address();
        server.close(() => resolve(typeof bound === 'object' && bound !== null ? bound.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
      socket.once('error', () => resolve(false));
      socket.bind({ port, address, exclusive: true }, () => socket.close(() => resolve(true)));
    });
    if (port > 0 && udpFree) return port;
  }
  throw new Error(`startNamed: found no port free for both UDP and TCP on ${address}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    await exited;
  } finally {
    clearTimeout(killer);
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

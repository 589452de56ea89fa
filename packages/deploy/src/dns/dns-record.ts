import { isIPv4, isIPv6 } from 'node:net';
import { BatonError } from '@baton/lifecycle';
import { runDnsTool, type DnsToolResult, type DnsToolRunner } from './run-dns-tool.js';

/** The record a DNS switch changes, on the authoritative server that takes signed dynamic updates. */
export interface DnsRecordTarget {
  /** The authoritative server (an address, or a name this machine resolves). */
  server: { host: string; port: number };
  /** The zone the record is in, e.g. `example.test`. */
  zone: string;
  /** The record's fully qualified name, in `zone`, e.g. `orders.example.test`. */
  name: string;
  type: 'A' | 'AAAA' | 'CNAME';
  /** The TSIG key (RFC 8945) the server accepts updates of the zone signed with. */
  key: { name: string; algorithm: string; secret: string };
  /** Per exchange with the server; default 5000. Whole seconds are what `nsupdate` and `dig` take: rounded up. */
  timeoutMs?: number;
}

/** A record's values (addresses, or one name for a CNAME) and its TTL in seconds. */
export interface RecordValue {
  values: string[];
  ttl: number;
}

/** One DNS record on its authoritative server: read it, replace it. */
export interface DnsRecord {
  /** The record as the authoritative server answers now (a `dig` query, no recursion); undefined when it does not exist. */
  read(): Promise<RecordValue | undefined>;
  /** Replaces the record's values and TTL with one signed RFC 2136 update (nsupdate), then reads it back; rejects BATON_ERR_DNS unless it reads back exactly as asked. */
  write(value: RecordValue): Promise<void>;
}

/** Options of {@link dnsRecord}. */
export interface DnsRecordOptions {
  /** Runs `nsupdate` and `dig`; default: from PATH, without a shell. */
  run?: DnsToolRunner;
}

const ALGORITHMS = ['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'];
const DNSUTILS = 'Debian: apt-get install bind9-dnsutils';
const MAX_TTL = 2_147_483_647;

/**
 * One record on an authoritative DNS server, changed with a dynamic update
 * (RFC 2136) signed with a TSIG key, through BIND's standard `nsupdate`, and
 * read with `dig` (no recursion). The key goes to `nsupdate` on its stdin,
 * never on a command line. Every failure is a `BATON_ERR_DNS` naming the
 * server, the zone and the record, never the secret: the server cannot be
 * reached, refused the key (NOTAUTH), does not serve the zone, refused the
 * update, or the record does not read back as asked. Invalid targets and
 * values are `BATON_ERR_INVALID_OPTION`, at construction and before anything
 * is sent.
 *
 * @example
 * const record = dnsRecord({
 *   server: { host: '10.0.0.53', port: 53 }, zone: 'example.test', name: 'orders.example.test', type: 'A',
 *   key: { name: 'baton', algorithm: 'hmac-sha256', secret: process.env.DNS_KEY_SECRET ?? '' },
 * });
 * await record.write({ values: ['10.0.1.7'], ttl: 30 });
 */
export function dnsRecord(target: DnsRecordTarget, options: DnsRecordOptions = {}): DnsRecord {
  const resolved = resolveTarget(target);
  const run = options.run ?? runDnsTool;
  const { server, zone, name, type, key, seconds } = resolved;
  const where = `DNS record ${name} ${type} (zone ${zone}, server ${server.host} port ${server.port})`;
  const scrub = (text: string): string => text.split(key.secret).join('<secret>');
  const fail = (problem: string): BatonError => new BatonError('BATON_ERR_DNS', scrub(`${where}: ${problem}`));
  // Both tools give up after `seconds`; the kill is for a tool that hangs anyway.
  const killAfterMs = seconds * 1000 + 5000;

  // The query throws a bare problem; read() and write() say whose record it is about.
  const query = async (): Promise<RecordValue | undefined> => {
    const args = [`@${server.host}`, '-p', String(server.port), '+norecurse', '+noall', '+comments', '+answer', `+time=${seconds}`, '+tries=1', `${name}.`, type];
    const result = await run('dig', args, { timeoutMs: killAfterMs });
    if (result.error?.code === 'ENOENT') throw new DnsProblem(`dig is not installed (${DNSUTILS}).`);
    if (result.error !== undefined) throw new DnsProblem(`the query did not finish (${result.error.message}).`);
    const output = `${result.stdout}\n${result.stderr}`;
    if (result.code !== 0) {
      const cannotResolve = /couldn't get address for '([^']*)'/.exec(output);
      if (cannotResolve) throw new DnsProblem(`cannot resolve the server's name ${cannotResolve[1]}.`);
      const reason = /communications error to \S+: ([^\n]+)/.exec(output)?.[1] ?? (/connection timed out/.test(output) ? 'timed out' : undefined);
      if (reason !== undefined || result.code === 9) throw new DnsProblem(`cannot reach the server: ${reason ?? 'no answer'}.`);
      throw new DnsProblem(`dig failed (exit ${result.code}): ${lastLines(output)}`);
    }
    const answer = parseDigAnswer(result.stdout);
    if (answer === undefined) throw new DnsProblem(`dig printed no answer the record can be read from: ${lastLines(output)}`);
    if (answer.status === 'REFUSED') throw new DnsProblem(`the server does not serve the zone ${zone}: it answered REFUSED to a query for ${name}.`);
    if (answer.status !== 'NOERROR' && answer.status !== 'NXDOMAIN') throw new DnsProblem(`the server answered ${answer.status} to a query for ${name}.`);
    if (!answer.authoritative) throw new DnsProblem(`the server's answer is not authoritative: it does not serve the zone ${zone}.`);
    const rows = answer.rows.filter((row) => row.type === type && normalizeName(row.name) === name);
    if (rows.length === 0) return undefined;
    return { values: normalizeValues(type, rows.map((row) => row.value)), ttl: Math.min(...rows.map((row) => row.ttl)) };
  };

  const read = async (): Promise<RecordValue | undefined> => {
    try {
      return await query();
    } catch (error) {
      throw error instanceof DnsProblem ? fail(error.message) : error;
    }
  };

  const write = async (value: RecordValue): Promise<void> => {
    const asked = resolveValue(type, value);
    const script = [
      `server ${server.host} ${server.port}`,
      `zone ${zone}.`,
      `key ${key.algorithm}:${key.name} ${key.secret}`,
      `update delete ${name}. ${type}`,
      ...asked.values.map((one) => `update add ${name}. ${asked.ttl} ${type} ${type === 'CNAME' ? `${one}.` : one}`),
      'send',
      '',
    ].join('\n');
    // -r 0: one request (no UDP retries), answered within `seconds` or given up.
    const result = await run('nsupdate', ['-t', String(seconds), '-u', String(seconds), '-r', '0'], { input: script, timeoutMs: killAfterMs });
    if (result.error !== undefined || result.code !== 0) throw fail(updateProblem(result, resolved));
    let now: RecordValue | undefined;
    try {
      now = await query();
    } catch (error) {
      if (!(error instanceof DnsProblem)) throw error;
      throw fail(`the server accepted the update, but reading the record back failed: ${error.message}`);
    }
    if (now === undefined || now.ttl !== asked.ttl || now.values.join(' ') !== asked.values.join(' ')) {
      throw fail(`the server accepted the update but answers ${now === undefined ? `no ${type} record` : describeValue(now)} where ${describeValue(asked)} was asked.`);
    }
  };

  return { read, write };
}

/** What went wrong, before it is said whose record it is about. */
class DnsProblem extends Error {}

interface ResolvedTarget {
  server: { host: string; port: number };
  zone: string;
  name: string;
  type: 'A' | 'AAAA' | 'CNAME';
  key: { name: string; algorithm: string; secret: string };
  seconds: number;
}

/** Why nsupdate failed, in words a user can act on. */
function updateProblem(result: DnsToolResult, target: ResolvedTarget): string {
  const { zone, name, key, seconds } = target;
  const unchanged = 'The record was not changed.';
  if (result.error?.code === 'ENOENT') return `nsupdate is not installed (${DNSUTILS}). ${unchanged}`;
  const unknown = 'Whether the server applied the update is unknown: read the record before trying again.';
  if (result.error !== undefined) return `nsupdate did not finish (${result.error.message}). ${unknown}`;
  const output = `${result.stdout}\n${result.stderr}`;
  const cannotResolve = /couldn't get address for '([^']*)'/.exec(output);
  if (cannotResolve) return `cannot resolve the server's name ${cannotResolve[1]}. ${unchanged}`;
  const tsig = /update failed: NOTAUTH\(([A-Z]+)\)/.exec(output);
  if (tsig || /TSIG error/.test(output)) {
    const detail = tsig?.[1] ?? 'TSIG error';
    const clock = detail === 'BADTIME' ? ", and this machine's clock (the signature's time is too far from the server's)" : '';
    return `the server refused the TSIG key "${key.name}" (${key.algorithm}): NOTAUTH(${detail}). Check the key's name, secret and algorithm against the server's key statement${clock}. ${unchanged}`;
  }
  if (/update failed: NOTAUTH\b/.test(output)) return `the server is not authoritative for the zone ${zone} (NOTAUTH): it does not serve that zone. Check the zone's name and the server. ${unchanged}`;
  if (/update failed: NOTZONE\b/.test(output)) return `the server does not hold ${name} in a zone ${zone} it serves (NOTZONE). Check the zone's name and the server. ${unchanged}`;
  if (/update failed: REFUSED\b/.test(output)) return `the server refused the update (REFUSED): the key "${key.name}" is not allowed to change ${name} (see the zone's allow-update or update-policy). ${unchanged}`;
  const rcode = /update failed: ([A-Z]+(?:\([A-Z]+\))?)/.exec(output);
  if (rcode) return `the server refused the update: ${rcode[1]}. ${unchanged}`;
  const communication = /Communication with \S+ failed: ([^\n]+)/.exec(output)?.[1] ?? (/timed out/.test(output) ? 'timed out' : undefined);
  if (communication !== undefined) {
    if (/timed out/.test(communication)) return `cannot reach the server: no answer within ${seconds} s (timed out). ${unknown}`;
    return `cannot reach the server: ${communication}. ${unchanged}`;
  }
  return `nsupdate failed (exit ${result.code ?? 'none'}): ${lastLines(output)}`;
}

interface DigAnswer {
  status: string;
  authoritative: boolean;
  rows: { name: string; ttl: number; type: string; value: string }[];
}

/** The status, the `aa` flag and the answer rows of `dig +noall +comments +answer`. */
function parseDigAnswer(stdout: string): DigAnswer | undefined {
  const status = /->>HEADER<<-.*status: ([A-Z]+)/.exec(stdout)?.[1];
  const flags = /^;; flags: ([^;]*);/m.exec(stdout)?.[1];
  if (status === undefined || flags === undefined) return undefined;
  const rows: DigAnswer['rows'] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '' || line.startsWith(';')) continue;
    const [owner, ttl, klass, type, ...data] = line.trim().split(/\s+/);
    if (owner === undefined || type === undefined || klass !== 'IN' || !/^\d+$/.test(ttl ?? '')) continue;
    rows.push({ name: owner, ttl: Number(ttl), type, value: data.join(' ') });
  }
  return { status, authoritative: flags.split(/\s+/).includes('aa'), rows };
}

function resolveTarget(target: DnsRecordTarget): ResolvedTarget {
  const problems: string[] = [];
  const host = target.server?.host;
  const port = target.server?.port;
  if (typeof host !== 'string' || !/^[A-Za-z0-9._:-]+$/.test(host)) problems.push(`server.host must be an address or a host name (got ${JSON.stringify(host)})`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`server.port must be a port number, 1 to 65535 (got ${JSON.stringify(port)})`);
  const zone = isDomainName(target.zone) ? normalizeName(target.zone) : undefined;
  if (zone === undefined) problems.push(`zone must be a domain name like example.test (got ${JSON.stringify(target.zone)})`);
  const name = isDomainName(target.name) ? normalizeName(target.name) : undefined;
  if (name === undefined) problems.push(`name must be a fully qualified domain name like orders.example.test (got ${JSON.stringify(target.name)})`);
  else if (zone !== undefined && name !== zone && !name.endsWith(`.${zone}`)) problems.push(`name ${name} is not in the zone ${zone}`);
  if (target.type !== 'A' && target.type !== 'AAAA' && target.type !== 'CNAME') problems.push(`type must be A, AAAA or CNAME (got ${JSON.stringify(target.type)})`);
  const key = target.key;
  if (!isDomainName(key?.name)) problems.push(`key.name must be a TSIG key name like baton-update (got ${JSON.stringify(key?.name)})`);
  const algorithm = typeof key?.algorithm === 'string' ? key.algorithm.toLowerCase() : '';
  if (!ALGORITHMS.includes(algorithm)) problems.push(`key.algorithm must be one of ${ALGORITHMS.join(', ')} (got ${JSON.stringify(key?.algorithm)})`);
  // Never quoted: a wrong secret may still be someone's secret.
  if (typeof key?.secret !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(key.secret)) problems.push('key.secret must be the base64 of the key (as in the server\'s key statement)');
  const timeoutMs = target.timeoutMs ?? 5000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) problems.push(`timeoutMs must be a positive number of milliseconds (got ${JSON.stringify(target.timeoutMs)})`);
  if (problems.length > 0 || zone === undefined || name === undefined) throw new BatonError('BATON_ERR_INVALID_OPTION', `dnsRecord: ${problems.join('; ')}.`);
  return {
    server: { host, port },
    zone,
    name,
    type: target.type,
    key: { name: normalizeName(key.name), algorithm, secret: key.secret },
    seconds: Math.ceil(timeoutMs / 1000),
  };
}

/** The value as asked, checked for the record's type, normalized as the server answers it; BATON_ERR_INVALID_OPTION when it is not one. */
function resolveValue(type: 'A' | 'AAAA' | 'CNAME', value: RecordValue): RecordValue {
  const problems: string[] = [];
  const values: unknown[] = Array.isArray(value?.values) ? value.values : [];
  if (values.length === 0) problems.push('values must hold at least one value');
  if (type === 'CNAME' && values.length > 1) problems.push(`a CNAME has one value (got ${values.length})`);
  const valid = type === 'A' ? isIPv4 : type === 'AAAA' ? (one: string) => isIPv6(one) && !one.includes('%') : isDomainName;
  for (const one of values) {
    if (typeof one !== 'string' || !valid(one)) problems.push(`${JSON.stringify(one)} is not ${type === 'A' ? 'an IPv4 address' : type === 'AAAA' ? 'an IPv6 address' : 'a domain name'}`);
  }
  if (!Number.isInteger(value?.ttl) || value.ttl < 0 || value.ttl > MAX_TTL) problems.push(`ttl must be a whole number of seconds, 0 to ${MAX_TTL} (got ${JSON.stringify(value?.ttl)})`);
  if (problems.length > 0) throw new BatonError('BATON_ERR_INVALID_OPTION', `dnsRecord: cannot write ${type} ${JSON.stringify(value?.values)}: ${problems.join('; ')}.`);
  return { values: normalizeValues(type, value.values), ttl: value.ttl };
}

/** Lower case, no trailing dot; IPv6 in its canonical (compressed) form; sorted, without repeats: an RRset is a set. */
function normalizeValues(type: 'A' | 'AAAA' | 'CNAME', values: readonly string[]): string[] {
  const normalized = values.map((one) => (type === 'CNAME' ? normalizeName(one) : type === 'AAAA' ? canonicalIPv6(one) : one));
  return [...new Set(normalized)].sort();
}

function canonicalIPv6(address: string): string {
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** A domain name: dot-separated labels of letters, digits, `-` and `_` (service labels), a trailing dot allowed. */
function isDomainName(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const bare = value.replace(/\.$/, '');
  return bare.length > 0 && bare.length <= 253 && bare.split('.').every((label) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label));
}

function describeValue(value: RecordValue): string {
  return `${value.values.join(', ')} (TTL ${value.ttl})`;
}

function lastLines(text: string): string {
  return text.trim().split('\n').filter(Boolean).slice(-3).join(' / ') || '(no output)';
}

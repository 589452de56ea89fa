import { isIP } from 'node:net';
import { describe, integer, isObject, unknownKeys } from '../internal/config-values.js';

/** The two stacks of a DNS blue/green deploy. */
export type StackColor = 'blue' | 'green';
export const STACK_COLORS: readonly StackColor[] = ['blue', 'green'];

/** One color's stack: its router listens on `address`; with `target`, the record is a CNAME to that name (which resolves to `address`). */
export interface StackAddress {
  address: string;
  target?: string;
}

/**
 * `strategy.switch` of a blue/green deploy: `{ kind: 'dns' }` moves traffic
 * between two whole stacks — each color its own router on its own address —
 * by changing the service's DNS record with a signed dynamic update
 * (RFC 2136, TSIG), instead of the router's weights. A resolved config has
 * every default filled in.
 */
export interface DnsSwitchConfig {
  kind: 'dns';
  /** The authoritative server that takes updates, `host` or `host:port` (default port 53), e.g. `10.0.0.53` or `127.0.0.1:5353`. */
  server: string;
  /** The zone the record is in, e.g. `example.com`. */
  zone: string;
  /** The record clients resolve, fully qualified, e.g. `orders.example.com`. */
  name: string;
  /** The TSIG key: its name and algorithm (default `hmac-sha256`) as the server knows them; its secret (base64) read from the environment variable `secretEnv` — never written in the config or the journal. */
  key: { name: string; algorithm?: string; secretEnv: string };
  /** The record's TTL in seconds, as it is kept between deploys; default 60. */
  ttl?: number;
  /** Lowered to this TTL (seconds) ahead of the switch, the old TTL waited out before it, and put back when the old stack retires; default: not lowered. */
  lowerTtlTo?: number;
  /** After the switch, the old stack retires once it saw no new request for the TTL plus this margin; default 5 s. */
  marginMs?: number;
  /** ...and at the latest this long after the switch (or after the rollback window, when that is longer), whatever still arrives; default 10 min. */
  deadlineMs?: number;
  /** Each color's address (and, for a CNAME record, its name). */
  stacks: Record<StackColor, StackAddress>;
}

/** A {@link DnsSwitchConfig} with its defaults in and its server split. */
export interface DnsSwitchSettings extends Omit<DnsSwitchConfig, 'server' | 'key' | 'ttl' | 'marginMs' | 'deadlineMs'> {
  server: { host: string; port: number };
  key: { name: string; algorithm: string; secretEnv: string };
  ttl: number;
  marginMs: number;
  deadlineMs: number;
}

/** The switch's settings, defaults filled in (the config was checked by {@link resolveDnsSwitch}). */
export function dnsSwitchSettings(config: DnsSwitchConfig): DnsSwitchSettings {
  const server = parseServer(config.server) ?? { host: config.server, port: 53 };
  return {
    ...config,
    server,
    key: { name: config.key.name, algorithm: config.key.algorithm ?? 'hmac-sha256', secretEnv: config.key.secretEnv },
    ttl: config.ttl ?? 60,
    marginMs: config.marginMs ?? 5_000,
    deadlineMs: config.deadlineMs ?? 600_000,
  };
}

const HOST_NAME = /^(?=.{1,253}\.?$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$/;
const ALGORITHMS = ['hmac-sha256', 'hmac-sha384', 'hmac-sha512', 'hmac-sha224', 'hmac-sha1', 'hmac-md5'];

/** Checks `strategy.switch`; problems go to `problems`. Undefined (no switch): the router's weights switch, as always. */
export function resolveDnsSwitch(input: unknown, problems: string[]): DnsSwitchConfig | undefined {
  if (input === undefined) return undefined;
  const where = 'strategy.switch';
  if (!isObject(input) || input.kind !== 'dns') {
    problems.push(`${where}: { kind: 'dns', server, zone, name, key, stacks } (blue/green between two stacks by a DNS record), or leave it out to switch by the router; got ${describe(input)}`);
    return undefined;
  }
  unknownKeys(input, ['kind', 'server', 'zone', 'name', 'key', 'ttl', 'lowerTtlTo', 'marginMs', 'deadlineMs', 'stacks'], `${where}.`, problems);
  const server = resolveServer(input.server, `${where}.server`, problems);
  const zone = dnsName(input.zone, `${where}.zone`, problems);
  const name = dnsName(input.name, `${where}.name`, problems);
  if (zone !== undefined && name !== undefined && name !== zone && !name.endsWith(`.${zone}`)) problems.push(`${where}.name: ${name} is not in the zone ${zone}`);
  const keyInput: Record<string, unknown> = isObject(input.key) ? input.key : {};
  if (!isObject(input.key)) problems.push(`${where}.key: { name, algorithm?, secretEnv } (the TSIG key the server accepts updates with; its secret in the environment variable secretEnv); got ${describe(input.key)}`);
  unknownKeys(keyInput, ['name', 'algorithm', 'secretEnv'], `${where}.key.`, problems);
  const keyName = dnsName(keyInput.name, `${where}.key.name`, problems);
  const algorithm = keyInput.algorithm ?? 'hmac-sha256';
  if (typeof algorithm !== 'string' || !ALGORITHMS.includes(algorithm)) problems.push(`${where}.key.algorithm: one of ${ALGORITHMS.join(', ')}; got ${describe(algorithm)}`);
  const secretEnv = keyInput.secretEnv;
  if (typeof secretEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(secretEnv)) {
    problems.push(`${where}.key.secretEnv: the name of the environment variable holding the key's secret (base64), e.g. 'BATON_DNS_KEY' — never the secret itself; got ${describe(secretEnv)}`);
  }
  const ttl = integer(input.ttl, `${where}.ttl`, 60, 1, 86_400, problems);
  const lowerTtlTo = input.lowerTtlTo === undefined ? undefined : integer(input.lowerTtlTo, `${where}.lowerTtlTo`, 5, 1, 86_400, problems);
  if (lowerTtlTo !== undefined && lowerTtlTo >= ttl) problems.push(`${where}.lowerTtlTo: a TTL below ttl (${ttl} s), or leave it out; got ${lowerTtlTo}`);
  const marginMs = integer(input.marginMs, `${where}.marginMs`, 5_000, 0, 3_600_000, problems);
  const deadlineMs = integer(input.deadlineMs, `${where}.deadlineMs`, 600_000, 1_000, 86_400_000, problems);
  const stacks = resolveStacks(input.stacks, `${where}.stacks`, problems);
  if (problems.length > 0 || server === undefined || zone === undefined || name === undefined || keyName === undefined || stacks === undefined) return undefined;
  return {
    kind: 'dns',
    server: `${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`,
    zone,
    name,
    key: { name: keyName, algorithm: algorithm as string, secretEnv: secretEnv as string },
    ttl,
    ...(lowerTtlTo === undefined ? {} : { lowerTtlTo }),
    marginMs,
    deadlineMs,
    stacks,
  };
}

function resolveServer(input: unknown, where: string, problems: string[]): { host: string; port: number } | undefined {
  const server = typeof input === 'string' ? parseServer(input) : undefined;
  if (server === undefined) problems.push(`${where}: the authoritative server's address, 'host' or 'host:port' with a port from 1 to 65535 (e.g. '10.0.0.53' or '127.0.0.1:5353'); got ${describe(input)}`);
  return server;
}

/** `[::1]:53`, `::1`, `10.0.0.53:5353`, `ns1.example.com` → host and port (default 53); undefined when it is none of those. */
function parseServer(input: string): { host: string; port: number } | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(input);
  const hostPort = bracketed ?? (isIP(input) === 6 ? [input, input, undefined] : /^([^:]+)(?::(\d+))?$/.exec(input));
  const host = hostPort?.[1];
  const port = hostPort?.[2] === undefined ? 53 : Number(hostPort[2]);
  if (host === undefined || (isIP(host) === 0 && !HOST_NAME.test(host)) || !Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { host, port };
}

function dnsName(input: unknown, where: string, problems: string[]): string | undefined {
  if (typeof input !== 'string' || !HOST_NAME.test(input)) {
    problems.push(`${where}: a DNS name such as orders.example.com; got ${describe(input)}`);
    return undefined;
  }
  // Compared and written without the root's dot, in lower case: DNS names are case-insensitive.
  return input.replace(/\.$/, '').toLowerCase();
}

function resolveStacks(input: unknown, where: string, problems: string[]): Record<StackColor, StackAddress> | undefined {
  if (!isObject(input)) {
    problems.push(`${where}: { blue: { address }, green: { address } } (each color's router listens on its own address; add target: a name for a CNAME record); got ${describe(input)}`);
    return undefined;
  }
  unknownKeys(input, STACK_COLORS, `${where}.`, problems);
  const stacks: Partial<Record<StackColor, StackAddress>> = {};
  for (const color of STACK_COLORS) {
    const stack = input[color];
    if (!isObject(stack)) {
      problems.push(`${where}.${color}: { address, target? }; got ${describe(stack)}`);
      continue;
    }
    unknownKeys(stack, ['address', 'target'], `${where}.${color}.`, problems);
    if (typeof stack.address !== 'string' || isIP(stack.address) === 0) {
      problems.push(`${where}.${color}.address: the IP address its router listens on (e.g. 10.0.1.10, or 127.0.0.2 on one machine); got ${describe(stack.address)}`);
      continue;
    }
    const target = stack.target === undefined ? undefined : dnsName(stack.target, `${where}.${color}.target`, problems);
    stacks[color] = { address: stack.address, ...(target === undefined ? {} : { target }) };
  }
  const { blue, green } = stacks;
  if (blue === undefined || green === undefined) return undefined;
  if (blue.address === green.address) problems.push(`${where}: blue and green need addresses of their own (both are ${blue.address})`);
  if ((blue.target === undefined) !== (green.target === undefined)) problems.push(`${where}: a target for both colors (a CNAME record) or for neither (an A/AAAA record)`);
  if (blue.target === undefined && isIP(blue.address) !== isIP(green.address)) problems.push(`${where}: both addresses IPv4 (an A record) or both IPv6 (AAAA); got ${blue.address} and ${green.address}`);
  return { blue, green };
}

/** The record's type: CNAME to each color's name, else A or AAAA by the addresses. */
export function recordTypeOf(config: Pick<DnsSwitchConfig, 'stacks'>): 'A' | 'AAAA' | 'CNAME' {
  if (config.stacks.blue.target !== undefined) return 'CNAME';
  return isIP(config.stacks.blue.address) === 6 ? 'AAAA' : 'A';
}

/** What the record holds while `color` is live. */
export function recordValueOf(config: Pick<DnsSwitchConfig, 'stacks'>, color: StackColor): string {
  const stack = config.stacks[color];
  return stack.target ?? stack.address;
}

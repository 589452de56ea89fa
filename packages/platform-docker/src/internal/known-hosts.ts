import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * OpenSSH's answer for a host key: known (a line for the host holds this
 * key), unknown (no line names the host), changed (lines name the host, none
 * with this key) or revoked (an `@revoked` line holds it).
 */
export type HostKeyVerdict =
  | { kind: 'known' }
  | { kind: 'unknown'; missingFile: boolean }
  | { kind: 'changed'; lines: { line: number; type: string; fingerprint: string }[] }
  | { kind: 'revoked'; line: number };

interface Entry {
  line: number;
  marker: '' | '@revoked' | '@cert-authority';
  patterns: string[];
  type: string;
  key: Buffer;
}

/**
 * The host's name as known_hosts writes it: `host` on port 22, else
 * `[host]:port` (what `ssh-keyscan -p` and `ssh` record).
 */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:…` as `ssh-keygen -lf` and `ssh` print it: base64 of the SHA-256 of the key blob, without padding. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name inside an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, …). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  return key.length < 4 + length ? 'unknown' : key.subarray(4, 4 + length).toString('latin1');
}

/** Checks `key` (the blob the host offered) for `host`:`port` against the known_hosts file at `file`. */
export function checkHostKey(file: string, host: string, port: number, key: Buffer): HostKeyVerdict {
  const entries = readEntries(file);
  if (entries === undefined) return { kind: 'unknown', missingFile: true };
  const name = knownHostsName(host, port);
  const forHost = entries.filter((entry) => matchesHost(entry.patterns, name));
  const revoked = forHost.find((entry) => entry.marker === '@revoked' && entry.key.equals(key));
  if (revoked !== undefined) return { kind: 'revoked', line: revoked.line };
  const plain = forHost.filter((entry) => entry.marker === '');
  if (plain.some((entry) => entry.key.equals(key))) return { kind: 'known' };
  if (plain.length === 0) return { kind: 'unknown', missingFile: false };
  return { kind: 'changed', lines: plain.map((entry) => ({ line: entry.line, type: entry.type, fingerprint: fingerprintOf(entry.key) })) };
}

/** The key types known_hosts holds for the host: the host is asked for one of those (as `ssh` does), not for another it also has. */
export function knownKeyTypes(file: string, host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const types = (readEntries(file) ?? []).filter((entry) => entry.marker === '' && matchesHost(entry.patterns, name)).map((entry) => entry.type);
  return [...new Set(types)];
}

function readEntries(file: string): Entry[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const entries: Entry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    const marker = fields[0].startsWith('@') ? fields.shift() : '';
    if (marker !== '' && marker !== '@revoked' && marker !== '@cert-authority') return;
    const [hosts, type, encoded] = fields;
    if (hosts === undefined || type === undefined || encoded === undefined) return;
    const key = Buffer.from(encoded, 'base64');
    // A line whose blob names another type than its type field is damaged: ssh ignores it too.
    if (keyTypeOf(key) !== type) return;
    entries.push({ line: index + 1, marker: marker as Entry['marker'], patterns: hosts.split(','), type, key });
  });
  return entries;
}

/** OpenSSH's rules: a hashed entry (`|1|salt|hash`, HMAC-SHA1 of the name), or patterns with `*` and `?`, where a matching `!pattern` vetoes. */
function matchesHost(patterns: readonly string[], name: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    if (pattern.startsWith('|1|')) {
      const [, , salt, hash] = pattern.split('|');
      if (salt === undefined || hash === undefined) continue;
      const computed = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
      if (computed === hash) matched = true;
      continue;
    }
    const negated = pattern.startsWith('!');
    if (!glob(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function glob(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(name);
}

/**
 * The HAProxy configuration Baton runs: one frontend, one backend of fixed
 * server slots that the Runtime API points at instances. Generated, never
 * edited by hand: router.json holds what it is made from.
 */
import { isIP } from 'node:net';
import type { BackendState } from '@baton/deploy';
import type { HaproxyCheckSettings, HaproxyTimeoutSettings } from './internal/haproxy-state.js';

/** The frontend's name in `show stat`. */
export const HAPROXY_FRONTEND = 'fe';
/** The backend holding the slots. */
export const HAPROXY_BACKEND = 'be';
/** The pattern that, in the keep-alive switch's ACL file, means off (see `keepAliveOffFile`). */
export const KEEP_ALIVE_OFF = 'off';
/** Slots are `s1`..`sN` (the `server-template` prefix). */
export const HAPROXY_SLOT_PREFIX = 's';

/** The server name of slot `n` (1-based). */
export function slotName(n: number): string {
  return `${HAPROXY_SLOT_PREFIX}${n}`;
}

/** A slot's number from its name, or undefined when it is not one. */
export function slotNumber(name: string): number | undefined {
  const match = /^s([1-9][0-9]*)$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** A slot that holds a backend, as the configuration writes it. */
export interface HaproxyConfigSlot {
  /** 1-based slot number. */
  slot: number;
  /** The backend's id and release, written as a comment beside the server. */
  id: string;
  release: string;
  /** An IP address. */
  address: string;
  port: number;
  state: BackendState;
  weight: number;
}

/** What {@link haproxyRouterConfig} is made from. */
export interface HaproxyConfigOptions {
  /** Frontend address: an IP (`127.0.0.1`, `0.0.0.0`, `::1`). */
  host: string;
  port: number;
  /** Absolute path of the admin socket. */
  adminSocket: string;
  /** Absolute path of the server state file written before a reload. */
  serverStateFile: string;
  slots: number;
  readinessPath: string;
  check: HaproxyCheckSettings;
  timeouts: HaproxyTimeoutSettings;
  retries: number;
  /** Slots holding backends; every other slot is a free placeholder in maintenance. */
  occupied?: readonly HaproxyConfigSlot[];
  /** Client connections HAProxy accepts at once (`maxconn`); more wait in the kernel's backlog. Default 2048. */
  maxConnections?: number;
  /** Keep the client's `X-Forwarded-Proto`/`-Host`, `Forwarded`, `X-Real-IP`...; default false: replaced or dropped. */
  trustForwarded?: boolean;
  /** What public clients may reach: by default (`false`) the metrics paths and probes with a query are answered 404. */
  expose?: { metrics: boolean; probeDetails: boolean; metricsPaths: readonly string[]; probePaths: readonly string[] };
  /**
   * Absolute path of an ACL pattern file: while it holds `off`, every answer
   * carries `Connection: close` (keep-alive with clients off). The Runtime
   * API switches it with `add acl` / `clear acl`; undefined: no such switch.
   */
  keepAliveOffFile?: string;
}

const DEFAULT_EXPOSE = { metrics: false, probeDetails: false, metricsPaths: ['/metrics'], probePaths: ['/livez', '/readyz', '/startupz', '/healthz'] };

/**
 * A regex (for `path,url_dec,lower -m reg`) matching `path` as a loose
 * framework or a backend resolving paths as `new URL()` does would route
 * it: any run of `/` (or `\`, a slash to a WHATWG URL parser), any case, a
 * trailing `/`, `;params` on any segment, `.` segments anywhere, and any
 * path with a `..` segment before the guarded one (`/x/../metrics`; over-
 * matching `/x/y/../metrics` costs nothing: clients resolve dot segments
 * before sending, so only hand-made requests carry them). As the built-in
 * router's normalization, which resolves `..` exactly.
 */
function pathPattern(paths: readonly string[]): string {
  const sep = '[/\\\\]';
  const params = '(;[^/\\\\]*)?';
  const dots = `(${sep}+\\.${params})*`;
  const alternatives = paths.map((path) =>
    path
      .toLowerCase()
      .split('/')
      .filter((segment) => segment !== '')
      .map((segment) => `${sep}+${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${params}${dots}`)
      .join(''),
  );
  // Single-quoted: HAProxy then reads the backslashes of the regex as they are.
  return `'^(.*${sep}\\.\\.${params})?${dots}(${alternatives.join('|')})${sep}*$'`;
}

/** Client headers that claim facts only a proxy may state; dropped unless trusted (see the built-in router's headers). */
const UNTRUSTED_HEADERS = ['Forwarded', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Real-IP', 'X-Forwarded-Port', 'X-Forwarded-Prefix', 'X-Forwarded-Server'];

/** `addr:port` as HAProxy reads it (an IPv6 address gets the `ipv6@` prefix, its colons would be ambiguous). */
export function haproxyAddress(address: string, port: number): string {
  return isIP(address) === 6 ? `ipv6@${address}:${port}` : `${address}:${port}`;
}

/**
 * The whole haproxy.cfg. Choices that matter for zero downtime:
 *
 * - `master-worker`: a reload (SIGUSR2 to the master) starts a new worker
 *   that takes the listening sockets over from the old one (`-x` on the
 *   master's socketpair), so it works with `noreuseport` and no connection is
 *   refused; the old worker finishes its requests.
 * - `noreuseport`: the loopback is shared; two HAProxies must never silently
 *   share a port, a clash must fail the start (which is then retried).
 * - `option idle-close-on-response`: on a reload, idle keep-alive client
 *   connections get one more answer with `Connection: close` instead of being
 *   closed under a client that may be sending on them.
 * - `keepAliveOffFile`: `http-after-response set-header Connection close`
 *   while the file (an ACL's patterns) holds `off`. A response saying
 *   close makes HAProxy close the client connection after it, so a
 *   keep-alive client opens a new one (and resolves the name again, for a
 *   DNS switch); idle connections are never closed under their clients.
 *   `http-after-response` covers HAProxy's own answers (404, 503) too. The
 *   Runtime API flips it without a reload (`add acl` / `clear acl`, stable
 *   commands; a `proc.` variable would need `experimental-mode on` in 2.6),
 *   and every start and reload reads the file.
 * - `server-state-file` + `load-server-state-from-file`: the new worker
 *   starts with the servers' states, weights and health as the old one had
 *   them. HAProxy 2.6 does not restore an IP address from that file, so the
 *   addresses of occupied slots are written here instead.
 * - Slots via `server-template`, all `disabled` (maintenance) by default,
 *   reused with `set server addr`: `del server` under load crashes 2.6.
 * - Pooled server connections (`pool-purge-delay`, `pool-max-conn -1`,
 *   `http-reuse safe`), `option redispatch 1` with `retries`: a failed
 *   connection, and an idempotent request its server took and died on
 *   without answering (`retry-on conn-failure empty-response`), go to
 *   another server.
 *
 * And against hostile clients (the built-in router does the same):
 * - `maxconn` on the frontend: past it HAProxy stops accepting, new
 *   connections wait in the kernel's backlog instead of eating memory. Not
 *   a global `maxconn`: HAProxy needs about two file descriptors per
 *   connection for it and refuses to start when the open-files limit is
 *   lower (2048 needs 4113; a hard limit of 1024 or 4096 is common); without
 *   one it sizes itself to the limit, as before.
 * - `timeout http-request` bounds the headers, and with
 *   `option http-buffer-request` the body too (up to a buffer, 16 KiB):
 *   HAProxy connects to a server only once the request is there, so a slow
 *   client never holds a server connection; too slow gets 408.
 * - The client's `Forwarded`, `X-Forwarded-Proto`/`-Host`, `X-Real-IP`,
 *   `X-Forwarded-Port`/`-Prefix`/`-Server` are replaced or dropped unless
 *   `trustForwarded`; `option forwardfor` appends `X-Forwarded-For`.
 * - `/metrics` and probes with a query (`?verbose` details) are answered 404
 *   unless `expose` says otherwise; the orchestrator reads instances directly.
 * - HAProxy refuses smuggling (TE with CL, two CLs, bad TE) and HTTP/0.9 by
 *   default: no `option accept-invalid-http-request` here.
 */
export function haproxyRouterConfig(options: HaproxyConfigOptions): string {
  const { check, timeouts } = options;
  const maxConnections = options.maxConnections ?? 2048;
  const expose = options.expose ?? DEFAULT_EXPOSE;
  // A shadow step's marks are set by the built-in router only: a client's forged `Baton-Shadow: 1` would send its real write to the service's dry run.
  const guards: string[] = ['  http-request del-header Baton-Shadow', '  http-request del-header Baton-Compare'];
  if (!options.trustForwarded) {
    for (const header of UNTRUSTED_HEADERS) guards.push(`  http-request del-header ${header}`);
    guards.push('  http-request set-header X-Forwarded-Proto http');
    guards.push('  http-request set-header X-Forwarded-Host %[req.hdr(host)] if { req.hdr(host) -m found }');
    // RFC 7239: an IPv6 node is bracketed and quoted; `src 0.0.0.0/0` matches IPv4 clients only.
    guards.push('  http-request set-header Forwarded "for=\\"[%[src]]\\";proto=http"');
    guards.push('  http-request set-header Forwarded "for=%[src];proto=http" if { src 0.0.0.0/0 }');
  } else {
    guards.push('  http-request set-header X-Forwarded-Proto http unless { req.hdr(x-forwarded-proto) -m found }');
    guards.push('  http-request set-header X-Forwarded-Host %[req.hdr(host)] if { req.hdr(host) -m found } !{ req.hdr(x-forwarded-host) -m found }');
  }
  if (!expose.metrics) {
    guards.push(`  http-request deny deny_status 404 if { path,url_dec,lower -m reg ${pathPattern(expose.metricsPaths)} }`);
  }
  if (!expose.probeDetails) {
    guards.push(`  http-request deny deny_status 404 if { path,url_dec,lower -m reg ${pathPattern(expose.probePaths)} } { query -m found }`);
  }
  if (options.keepAliveOffFile !== undefined) {
    guards.push('  # Keep-alive with clients off (Router.setKeepAlive): every answer, HAProxy\'s own included, closes its connection.');
    guards.push(`  http-after-response set-header Connection close if { str(${KEEP_ALIVE_OFF}) -m str -f ${options.keepAliveOffFile} }`);
  }
  const occupied = new Map((options.occupied ?? []).map((slot) => [slot.slot, slot]));
  const servers: string[] = [];
  let freeFrom: number | undefined;
  const flushFree = (to: number): void => {
    if (freeFrom === undefined) return;
    servers.push(`  server-template ${HAPROXY_SLOT_PREFIX} ${freeFrom}-${to} 127.0.0.1:1 check disabled`);
    freeFrom = undefined;
  };
  for (let n = 1; n <= options.slots; n += 1) {
    const slot = occupied.get(n);
    if (!slot) {
      freeFrom ??= n;
      continue;
    }
    flushFree(n - 1);
    // Written as maintenance: the server state file (on a reload) or the
    // Runtime API (after a fresh start) sets the state it really has.
    servers.push(`  # ${slotName(n)}: ${sanitizeComment(slot.id)} (release ${sanitizeComment(slot.release)}), ${slot.state}`);
    servers.push(`  server ${slotName(n)} ${haproxyAddress(slot.address, slot.port)} weight ${slot.weight} check${slot.state === 'ready' ? '' : ' disabled'}`);
  }
  flushFree(options.slots);

  return `# Generated by Baton (@baton/deploy, startHaproxyRouter): do not edit, it is rewritten on every reload.
global
  master-worker
  # The loopback is shared: two HAProxies must never silently share a port.
  noreuseport
  stats socket ${options.adminSocket} mode 600 level admin
  server-state-file ${options.serverStateFile}
  hard-stop-after ${timeouts.hardStopAfterMs}ms
  log stdout format raw local0 info

defaults
  mode http
  log global
  option httplog
  # Only abnormal sessions (errors, retries, 5xx, aborts) are logged.
  option dontlog-normal
  # Every retry on another server (a connection refused says little for the next attempt on the same one).
  option redispatch 1
  retries ${options.retries}
  option idle-close-on-response
  # The whole request (headers, and body up to a buffer) within timeout http-request before a server connection is taken.
  option http-buffer-request
  load-server-state-from-file global
  timeout connect ${timeouts.connectMs}ms
  timeout client ${timeouts.clientMs}ms
  timeout server ${timeouts.serverMs}ms
  timeout http-request ${timeouts.httpRequestMs}ms
  timeout http-keep-alive ${timeouts.keepAliveMs}ms
  timeout queue ${timeouts.queueMs}ms
  # WebSockets (and other upgrades): quiet for longer than timeout client is normal for them.
  timeout tunnel ${timeouts.tunnelMs ?? 3_600_000}ms
  timeout check ${check.timeoutMs}ms

frontend ${HAPROXY_FRONTEND}
  bind ${haproxyAddress(options.host, options.port)}
  maxconn ${maxConnections}
  option forwardfor
${guards.join('\n')}
  default_backend ${HAPROXY_BACKEND}

backend ${HAPROXY_BACKEND}
  balance roundrobin
  option httpchk GET ${options.readinessPath}
  http-check expect status 200
  http-reuse safe
  # A server that dies with requests in flight (killed, crashed, its host gone) leaves them without an
  # answer: idempotent ones are sent again to another server, as the built-in router does; others
  # may have been acted on, and fail (502) rather than happen twice.
  retry-on conn-failure empty-response
  http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }
  default-server inter ${check.intervalMs}ms fastinter ${check.intervalMs}ms downinter ${check.intervalMs}ms fall ${check.fall} rise ${check.rise} pool-purge-delay 5s pool-max-conn -1
${servers.join('\n')}
`;
}

function sanitizeComment(text: string): string {
  return text.replace(/[\r\n]/g, ' ');
}

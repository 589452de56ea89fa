/**
 * A small client of HAProxy's Runtime API (the `stats socket`), the way Baton
 * drives HAProxy: servers pointed at instances, their state and weight set,
 * their counters read — without reloading.
 */
import { connect, isIP } from 'node:net';
import { BatonError } from '@baton/lifecycle';

/** One row of `show stat`, keyed by the CSV header (pxname, svname, status, scur, stot, req_tot, ...). */
export type StatRow = Record<string, string>;

/** One row of `show servers state`, keyed by its header (be_name, srv_name, srv_addr, srv_op_state, srv_admin_state, srv_uweight, ...). */
export type ServerStateRow = Record<string, string>;

/** Server administrative states the Runtime API sets (`set server B/S state ...`). */
export type ServerState = 'ready' | 'drain' | 'maint';

/** Options of {@link HaproxyRuntimeApi}. */
export interface HaproxyRuntimeApiOptions {
  /** How long one connection (one command, or one batch) may take; default 5000 ms. */
  timeoutMs?: number;
}

/** `srv_admin_state` bits (HAProxy's `enum srv_admin`). */
export const SERVER_ADMIN_FLAGS = {
  /** Forced into maintenance (`state maint`, `disable server`, `disabled` in the config). */
  FMAINT: 0x01,
  /** Maintenance inherited from a tracked server. */
  IMAINT: 0x02,
  /** Declared `disabled` in the config: a marker only, it does not keep the server in maintenance. */
  CMAINT: 0x04,
  /** Forced into drain (`state drain`). */
  FDRAIN: 0x08,
  /** Drain inherited from a tracked server. */
  IDRAIN: 0x10,
  /** Down because its name did not resolve. */
  RMAINT: 0x20,
  /** Any of these means maintenance (HAProxy's `SRV_ADMF_MAINT`). */
  MAINT_MASK: 0x23,
  /** Any of these means drain (HAProxy's `SRV_ADMF_DRAIN`). */
  DRAIN_MASK: 0x18,
} as const;

/** The administrative state a `show servers state` row says: maintenance wins over drain. */
export function serverStateOf(row: ServerStateRow): ServerState {
  const flags = Number(row.srv_admin_state ?? '0');
  if (flags & SERVER_ADMIN_FLAGS.MAINT_MASK) return 'maint';
  if (flags & SERVER_ADMIN_FLAGS.DRAIN_MASK) return 'drain';
  return 'ready';
}

const NAME = /^[A-Za-z0-9_.:-]+$/;
const MAX_WEIGHT = 256;

function routerError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_ROUTER', `HAProxy Runtime API: ${message}`, cause === undefined ? undefined : { cause });
}

function checkName(kind: string, name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) throw routerError(`${kind} name ${JSON.stringify(name)} is not a HAProxy name (letters, digits, _ . : -).`);
}

/**
 * The Runtime API over one unix socket. Every call opens its own connection
 * (HAProxy answers and closes), so there is no session state to get wrong; a
 * {@link batch} sends several commands on one connection, in prompt mode, and
 * reads one answer per command.
 *
 * Errors are `BatonError`s with code `BATON_ERR_ROUTER`: the socket cannot be
 * reached (the cause carries `ENOENT`, `ECONNREFUSED`...), it did not answer
 * in time, or HAProxy refused the command (its answer is in the message).
 *
 * @example
 *   const api = new HaproxyRuntimeApi('/var/lib/baton/router/admin.sock');
 *   await api.setServerAddress('be', 's3', '127.0.0.1', 41234);
 *   await api.setServerState('be', 's3', 'ready');
 */
export class HaproxyRuntimeApi {
  readonly socketPath: string;
  readonly timeoutMs: number;

  constructor(socketPath: string, options: HaproxyRuntimeApiOptions = {}) {
    this.socketPath = socketPath;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Sends one command line and resolves with HAProxy's whole answer. */
  async command(line: string): Promise<string> {
    if (/[\r\n]/.test(line)) throw routerError(`a command must be one line: ${JSON.stringify(line)}.`);
    return this.#exchange(`${line}\n`, line);
  }

  /**
   * Sends `lines` on one connection, one command each, and resolves with one
   * answer per command, in order. HAProxy runs them back to back, so a batch
   * of weight and state changes lands together.
   */
  async batch(lines: readonly string[]): Promise<string[]> {
    if (lines.length === 0) return [];
    for (const line of lines) {
      if (/[\r\n;]/.test(line)) throw routerError(`a batched command must be one line without ';': ${JSON.stringify(line)}.`);
    }
    // Prompt mode: every answer is followed by "\n> ", which splits them
    // exactly (without it, an empty answer and a blank line look alike).
    const answer = await this.#exchange(`prompt\n${lines.join('\n')}\nquit\n`, lines.join('; '));
    const parts = answer.split('\n> ');
    // parts[0] is prompt's own (empty) answer; the text after the last prompt is empty.
    const answers = parts.slice(1, lines.length + 1);
    if (parts[0] !== '' || answers.length !== lines.length) {
      throw routerError(`expected ${lines.length} answers to "${lines.join('; ')}", got: ${answer.slice(0, 500)}`);
    }
    return answers;
  }

  /**
   * Like {@link batch}, but each answer must be empty (or match `allowed`):
   * HAProxy answers set commands with nothing on success and a message on
   * failure. Rejects naming the first refused command and HAProxy's message.
   */
  async execute(lines: readonly string[], allowed?: RegExp): Promise<void> {
    const answers = await this.batch(lines);
    answers.forEach((raw, index) => {
      const answer = raw.trim();
      if (answer !== '' && !(allowed && allowed.test(answer))) {
        const rest = lines.length > 1 ? ` (command ${index + 1} of ${lines.length}; the ones before it were applied)` : '';
        throw routerError(`"${lines[index]}" was refused${rest}: ${answer}`);
      }
    });
  }

  /** The level of this socket: `admin`, `operator` or `user` (`show cli level`). */
  async cliLevel(): Promise<string> {
    return (await this.command('show cli level')).trim();
  }

  /** `show info` as name → value (Pid, Version, Uptime_sec, Stopping, ...). */
  async showInfo(): Promise<Record<string, string>> {
    return parseInfo(await this.command('show info'));
  }

  /** `show stat` parsed by its CSV header; `backend` limits it to that backend's servers. */
  async showStat(backend?: string): Promise<StatRow[]> {
    if (backend !== undefined) checkName('backend', backend);
    return parseStat(await this.command(backend === undefined ? 'show stat' : `show stat ${backend} 4 -1`));
  }

  /** `show servers state [backend]` parsed by its header. */
  async showServersState(backend?: string): Promise<ServerStateRow[]> {
    if (backend !== undefined) checkName('backend', backend);
    return parseServersState(await this.command(backend === undefined ? 'show servers state' : `show servers state ${backend}`));
  }

  /** The `show stat` row of one server, or undefined when there is none. */
  async serverStat(backend: string, server: string): Promise<StatRow | undefined> {
    return (await this.showStat(backend)).find((row) => row.svname === server);
  }

  /** Streams HAProxy has on that server right now (`scur`). */
  async currentSessions(backend: string, server: string): Promise<number> {
    return Number((await this.serverStat(backend, server))?.scur ?? 0);
  }

  /** Points a server at another address and port (it keeps its checks and options). `host` must be an IP address. */
  async setServerAddress(backend: string, server: string, host: string, port: number): Promise<void> {
    return this.execute([setAddressCommand(backend, server, host, port)], /changed from|no need to change/i);
  }

  /** `ready` (gets traffic), `drain` (no new traffic, current requests finish) or `maint` (no traffic, no checks). */
  async setServerState(backend: string, server: string, state: ServerState): Promise<void> {
    return this.execute([setStateCommand(backend, server, state)]);
  }

  /** Sets the server's weight, 0–256. */
  async setServerWeight(backend: string, server: string, weight: number): Promise<void> {
    return this.execute([setWeightCommand(backend, server, weight)]);
  }

  /** Takes a server out of maintenance: it counts as UP at once, before its first check. */
  async enableServer(backend: string, server: string): Promise<void> {
    checkName('backend', backend);
    checkName('server', server);
    return this.execute([`enable server ${backend}/${server}`]);
  }

  /** Puts a server into maintenance: no new traffic, health checks stop. */
  async disableServer(backend: string, server: string): Promise<void> {
    checkName('backend', backend);
    checkName('server', server);
    return this.execute([`disable server ${backend}/${server}`]);
  }

  #exchange(payload: string, what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.socketPath);
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (error?: BatonError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(Buffer.concat(chunks).toString('utf8'));
      };
      const timer = setTimeout(() => {
        socket.destroy();
        finish(routerError(`no answer to "${what}" on ${this.socketPath} within ${this.timeoutMs} ms.`));
      }, this.timeoutMs);
      socket.on('connect', () => socket.end(payload));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', (error: NodeJS.ErrnoException) => {
        const hint =
          error.code === 'ENOENT'
            ? 'the socket does not exist (is HAProxy running?)'
            : error.code === 'ECONNREFUSED'
              ? 'nothing listens on the socket (HAProxy is not running)'
              : error.code === 'EACCES'
                ? 'permission denied (the socket is mode 600, owned by the user running HAProxy)'
                : (error.code ?? error.message);
        finish(routerError(`cannot send "${what}" to ${this.socketPath}: ${hint}.`, error));
      });
      socket.on('close', () => finish());
    });
  }
}

/** `set server B/S addr A port P`, validated. */
export function setAddressCommand(backend: string, server: string, host: string, port: number): string {
  checkName('backend', backend);
  checkName('server', server);
  if (isIP(host) === 0) throw routerError(`the address of ${backend}/${server} must be an IP address, got ${JSON.stringify(host)}.`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw routerError(`the port of ${backend}/${server} must be an integer 1-65535, got ${JSON.stringify(port)}.`);
  return `set server ${backend}/${server} addr ${host} port ${port}`;
}

/** `set server B/S state ready|drain|maint`, validated. */
export function setStateCommand(backend: string, server: string, state: ServerState): string {
  checkName('backend', backend);
  checkName('server', server);
  if (state !== 'ready' && state !== 'drain' && state !== 'maint') throw routerError(`state must be "ready", "drain" or "maint", got ${JSON.stringify(state)}.`);
  return `set server ${backend}/${server} state ${state}`;
}

/** `set server B/S weight W`, validated (an integer 0–256). */
export function setWeightCommand(backend: string, server: string, weight: number): string {
  checkName('backend', backend);
  checkName('server', server);
  if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
    throw routerError(`the weight of ${backend}/${server} must be an integer 0-${MAX_WEIGHT}, got ${JSON.stringify(weight)}.`);
  }
  return `set server ${backend}/${server} weight ${weight}`;
}

/** `show info` text → name → value. */
export function parseInfo(text: string): Record<string, string> {
  const info: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) info[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return info;
}

/** `show stat` CSV → rows keyed by its "# pxname,svname,..." header. */
export function parseStat(text: string): StatRow[] {
  return parseTable(text, (line) => line.split(','));
}

/** `show servers state` → rows keyed by its header (the first line, the format version, is skipped). */
export function parseServersState(text: string): ServerStateRow[] {
  const lines = text.split('\n');
  // Line 1 is the format version ("1"); an unknown backend answers with an error line instead.
  if (lines[0]?.trim() !== '1') {
    const answer = text.trim();
    if (answer === '' || answer.startsWith('#')) return [];
    throw routerError(`unexpected answer to "show servers state": ${answer.slice(0, 300)}`);
  }
  return parseTable(lines.slice(1).join('\n'), (line) => line.trim().split(/\s+/));
}

function parseTable(text: string, split: (line: string) => string[]): Record<string, string>[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const headerLine = lines.find((line) => line.startsWith('#'));
  if (!headerLine) return [];
  const header = split(headerLine.replace(/^#\s*/, ''));
  return lines
    .filter((line) => !line.startsWith('#'))
    .map((line) => {
      const cells = split(line);
      const row: Record<string, string> = {};
      header.forEach((name, index) => {
        if (name !== '') row[name] = cells[index] ?? '';
      });
      return row;
    });
}

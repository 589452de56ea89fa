import { connect } from 'node:net';

/** One row of `show stat`, keyed by the CSV header (pxname, svname, status, scur, stot, ...). */
export type StatRow = Record<string, string>;

/** One row of `show servers state`, keyed by its header (srv_name, srv_addr, srv_op_state, ...). */
export type ServerStateRow = Record<string, string>;

/** Server administrative states the Runtime API can set. */
export type ServerState = 'ready' | 'drain' | 'maint';

/**
 * A small client of HAProxy's Runtime API over its unix admin socket. One
 * connection per command (non-interactive mode): HAProxy answers and closes,
 * so there is no framing to get wrong.
 */
export class RuntimeApi {
  readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** Sends one command and resolves with HAProxy's whole answer. */
  command(line: string, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.socketPath);
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`HAProxy Runtime API: no answer to "${line}" within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.on('connect', () => socket.end(`${line}\n`));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
    });
  }

  /**
   * Like {@link command}, but a non-empty answer is an error: HAProxy answers
   * set/enable/disable commands with nothing on success and a message on failure.
   * (`set server addr` answers with a "changed from" notice, which is success.)
   */
  async #expectQuiet(line: string, allowed?: RegExp): Promise<void> {
    const answer = (await this.command(line)).trim();
    if (answer !== '' && !(allowed && allowed.test(answer))) {
      throw new Error(`HAProxy Runtime API: "${line}" answered: ${answer}`);
    }
  }

  /** Points a server slot at a new address and port (the slot keeps its health-check settings). */
  setServerAddress(backend: string, server: string, host: string, port: number): Promise<void> {
    return this.#expectQuiet(`set server ${backend}/${server} addr ${host} port ${port}`, /changed from|no need to change/i);
  }

  /** Takes a server out of maintenance: it counts as UP at once, before its first check. */
  enableServer(backend: string, server: string): Promise<void> {
    return this.#expectQuiet(`enable server ${backend}/${server}`);
  }

  /** Puts a server into maintenance: no new traffic, health checks stop. */
  disableServer(backend: string, server: string): Promise<void> {
    return this.#expectQuiet(`disable server ${backend}/${server}`);
  }

  /** `ready`, `drain` (keeps existing sessions, no new ones) or `maint`. */
  setServerState(backend: string, server: string, state: ServerState): Promise<void> {
    return this.#expectQuiet(`set server ${backend}/${server} state ${state}`);
  }

  /** `show stat` parsed by its CSV header. */
  async showStat(): Promise<StatRow[]> {
    return parseTable(await this.command('show stat'), ',');
  }

  /** `show servers state [backend]` parsed by its header. */
  async showServersState(backend?: string): Promise<ServerStateRow[]> {
    const answer = await this.command(backend ? `show servers state ${backend}` : 'show servers state');
    // The first line is the format version; the header follows it.
    return parseTable(answer.split('\n').slice(1).join('\n'), ' ');
  }

  /** The `show stat` row of one server, or undefined when there is none. */
  async serverStat(backend: string, server: string): Promise<StatRow | undefined> {
    return (await this.showStat()).find((row) => row.pxname === backend && row.svname === server);
  }

  /** Sessions HAProxy has open to that server right now (`scur`). */
  async currentSessions(backend: string, server: string): Promise<number> {
    return Number((await this.serverStat(backend, server))?.scur ?? 0);
  }
}

/** Parses a "# a,b,c" header plus rows into records. */
function parseTable(text: string, separator: ',' | ' '): Record<string, string>[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const headerLine = lines.find((line) => line.startsWith('#'));
  if (!headerLine) return [];
  const split = (line: string): string[] => (separator === ' ' ? line.trim().split(/\s+/) : line.split(','));
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

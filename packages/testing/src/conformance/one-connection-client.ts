import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';

/** One answer, and which of the client's connections carried it. */
export interface NumberedAnswer {
  status: number;
  body: string;
  /** The answer's `Connection` header, lower-cased; undefined when it has none. */
  connection: string | undefined;
  /** The connection the request went on: 1 for the client's first, 2 for the next one it opened, ... */
  socket: number;
}

/**
 * A keep-alive client as services run them (an `http.Agent` with
 * `keepAlive`), held to one connection at a time, that numbers the
 * connections it opens: whether a request reused the last connection or
 * opened a new one is a fact the test reads, not a timing.
 */
export class OneConnectionClient {
  readonly #url: string;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1 });
  readonly #numbers = new WeakMap<Socket, number>();
  #opened = 0;

  constructor(url: string) {
    this.#url = url;
  }

  /** Connections opened so far. */
  get opened(): number {
    return this.#opened;
  }

  /** One GET of `path`; rejects on anything but a complete answer (a reset, a connection closed without one, 10 s of silence). */
  get(path = '/'): Promise<NumberedAnswer> {
    return new Promise((resolve, reject) => {
      let socketNumber = 0;
      const req = request(new URL(path, this.#url), { agent: this.#agent, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', reject);
        res.on('end', () => {
          const connection = res.headers.connection?.toLowerCase();
          resolve({ status: res.statusCode ?? 0, body, connection, socket: socketNumber });
        });
      });
      req.on('socket', (socket: Socket) => {
        let number = this.#numbers.get(socket);
        if (number === undefined) {
          this.#opened += 1;
          number = this.#opened;
          this.#numbers.set(socket, number);
        }
        socketNumber = number;
      });
      req.on('timeout', () => req.destroy(new Error(`no answer to GET ${path} within 10000 ms`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** `count` GETs one after the other. */
  async series(count: number, path = '/'): Promise<NumberedAnswer[]> {
    const answers: NumberedAnswer[] = [];
    for (let i = 0; i < count; i += 1) answers.push(await this.get(path));
    return answers;
  }

  /** Closes its connections. */
  close(): void {
    this.#agent.destroy();
  }
}

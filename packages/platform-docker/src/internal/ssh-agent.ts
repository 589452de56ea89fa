import { Agent, type AgentOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { Client } from 'ssh2';

/** How long an SSH connection with no request on it stays open for the next one. */
const IDLE_CLOSE_MS = 2000;

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  /** The SSH agent's socket (SSH_AUTH_SOCK), as the Docker CLI uses it. */
  agent: string | undefined;
  /** For the SSH handshake. */
  readyTimeoutMs: number;
}

/**
 * An HTTP agent whose connections are `docker system dial-stdio` sessions
 * on the engine's host, all over ONE SSH connection: the Docker CLI's way
 * of reaching an `ssh://` engine, without an SSH handshake per API call (a
 * login costs hundreds of milliseconds on a network, seconds on a loaded
 * host). The connection closes when no request has used it for a moment, so
 * an orchestrator that is done can exit.
 */
export class SshDialAgent extends Agent {
  private client: Client | undefined;
  private ready: Promise<Client> | undefined;
  private open = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly target: SshTarget) {
    // One session per request (no keep-alive): sshd allows ten sessions per connection by default.
    super({ keepAlive: false, maxSockets: 8 } satisfies AgentOptions);
  }

  override createConnection(_options: unknown, callback: (error: Error | null, socket?: Duplex) => void): undefined {
    this.connected().then(
      (client) => {
        client.exec('docker system dial-stdio', (error, channel) => {
          if (error !== undefined && error !== null) return callback(error);
          this.open += 1;
          this.cancelIdle();
          let closed = false;
          channel.once('close', () => {
            if (closed) return;
            closed = true;
            this.open -= 1;
            if (this.open === 0) this.scheduleIdle();
          });
          // The HTTP client treats the session as its socket; these are no-ops on a channel.
          const socketLike = channel as unknown as Duplex & Record<string, unknown>;
          for (const method of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) socketLike[method] ??= () => socketLike;
          return callback(null, channel as unknown as Duplex);
        });
      },
      (error: Error) => callback(error),
    );
    return undefined;
  }

  /** Ends the SSH connection (requests on it fail). */
  close(): void {
    this.cancelIdle();
    this.client?.end();
    this.client = undefined;
    this.ready = undefined;
    this.destroy();
  }

  private connected(): Promise<Client> {
    if (this.ready !== undefined) return this.ready;
    const client = new Client();
    const ready = new Promise<Client>((resolve, reject) => {
      client.once('ready', () => resolve(client));
      client.once('error', (error) => {
        if (this.client === client) this.forget();
        reject(error);
      });
      client.once('close', () => {
        if (this.client === client) this.forget();
        reject(new Error(`the SSH connection to ${this.target.host}:${this.target.port} closed`));
      });
    });
    // A later error on a connection already handed out must not be unhandled.
    ready.catch(() => {});
    client.on('error', () => {});
    this.client = client;
    this.ready = ready;
    client.connect({
      host: this.target.host,
      port: this.target.port,
      username: this.target.username,
      ...(this.target.agent === undefined ? {} : { agent: this.target.agent }),
      readyTimeout: this.target.readyTimeoutMs,
      keepaliveInterval: 15_000,
    });
    return ready;
  }

  private forget(): void {
    this.client = undefined;
    this.ready = undefined;
  }

  private scheduleIdle(): void {
    this.cancelIdle();
    this.idleTimer = setTimeout(() => {
      if (this.open > 0) return;
      this.client?.end();
      this.forget();
    }, IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  private cancelIdle(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

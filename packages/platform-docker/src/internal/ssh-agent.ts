import { Agent, type AgentOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { Client } from 'ssh2';
import { checkHostKey, fingerprintOf, keyTypeOf, knownHostsName, knownKeyTypes } from './known-hosts.js';

/** The host key algorithms ssh2 may ask for, by the key type known_hosts writes. */
const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

/** How long an SSH connection with no request on it stays open for the next one. */
const IDLE_CLOSE_MS = 2000;

export interface SshTarget {
  /** The engine's name and URL, for messages. */
  engine: string;
  url: string;
  host: string;
  port: number;
  username: string;
  /** The SSH agent's socket (SSH_AUTH_SOCK), as the Docker CLI uses it; unused when `privateKey` is given. */
  agent: string | undefined;
  /** A private key's text (from `hosts[].ssh.identityFile`). */
  privateKey?: string;
  /** The known_hosts file the host's key must be in. */
  knownHosts: string;
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
    let refusal: string | undefined;
    const ready = new Promise<Client>((resolve, reject) => {
      client.once('ready', () => resolve(client));
      client.once('error', (error) => {
        if (this.client === client) this.forget();
        // ssh2 says only "verification failed": the refusal says which key and what to do.
        reject(refusal === undefined ? error : new Error(refusal));
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
    const { host, port, knownHosts, privateKey, agent } = this.target;
    // As ssh does: ask the host for a key of a type known_hosts holds for it, so a host with several keys offers the known one.
    const serverHostKey = knownKeyTypes(knownHosts, host, port).flatMap((type) => HOST_KEY_ALGORITHMS[type] ?? []);
    client.connect({
      host,
      port,
      username: this.target.username,
      ...(privateKey !== undefined ? { privateKey } : agent === undefined ? {} : { agent }),
      ...(serverHostKey.length === 0 ? {} : { algorithms: { serverHostKey: serverHostKey as never } }),
      hostVerifier: (key: Buffer): boolean => {
        refusal = this.refusalOf(key);
        return refusal === undefined;
      },
      readyTimeout: this.target.readyTimeoutMs,
      keepaliveInterval: 15_000,
    });
    return ready;
  }

  /** Why the host's key is not trusted, in words that say what to do; undefined when known_hosts holds it. */
  private refusalOf(key: Buffer): string | undefined {
    const { engine, url, host, port, knownHosts } = this.target;
    const verdict = checkHostKey(knownHosts, host, port, key);
    if (verdict.kind === 'known') return undefined;
    const name = knownHostsName(host, port);
    const offered = `${keyTypeOf(key)} key ${fingerprintOf(key)}`;
    const scan = `ssh-keyscan ${port === 22 ? '' : `-p ${port} `}${host} >> ${knownHosts}`;
    const at = `engine ${engine} (${url})`;
    if (verdict.kind === 'unknown') {
      return (
        `${at}: the host's SSH key is not known: ${name} offers the ${offered}, which ${knownHosts} does not hold${verdict.missingFile ? ' (the file does not exist)' : ''}. ` +
        `Compare that fingerprint with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on it); if it matches, add the key (${scan}) or point hosts[].ssh.knownHosts at a file that holds it`
      );
    }
    if (verdict.kind === 'revoked') return `${at}: the host's SSH key (${offered}) is revoked in ${knownHosts} (line ${verdict.line}); Baton does not connect`;
    const held = verdict.lines.map((entry) => `line ${entry.line}: ${entry.type} key ${entry.fingerprint}`).join(', ');
    return (
      `${at}: the host's SSH key CHANGED: ${name} offers the ${offered}, but ${knownHosts} holds another (${held}). ` +
      `Someone may be intercepting the connection; do not deploy until you know why. If the host's key was replaced on purpose (a reinstalled host), ` +
      `remove the old one (ssh-keygen -R '${name}' -f ${knownHosts}) and add the new one (${scan}) once its fingerprint checks out`
    );
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

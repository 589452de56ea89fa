import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './internal/free-port.js';
import { makeTestCertificates, type TlsFiles } from './internal/test-certificates.js';
import { startDockerEngine, type PrivateDockerEngine, type StartDockerEngineOptions } from './private-engine.js';

/** A private engine that also serves its API over TCP with TLS, as a remote host's engine on port 2376. */
export interface TlsDockerEngine extends PrivateDockerEngine {
  /** The client address: `tcp://127.0.0.1:<port>` (the unix socket stays in `socketPath`, for the rig's own tools). */
  docker: string;
  /** The client's PEM files, as `docker --tlsverify --tlscacert … --tlscert … --tlskey …` takes them. */
  tls: TlsFiles;
  /** A client identity from another CA, that this engine refuses (its `ca` does not vouch for this engine either). */
  untrusted: TlsFiles;
  /** Where the certificates are (removed by stop()). */
  certificatesDir: string;
}

/**
 * Starts a private Docker engine ({@link startDockerEngine}) that also
 * listens on `tcp://127.0.0.1:<free port>` with `--tlsverify`: a CA, a server
 * certificate for 127.0.0.1 / localhost and a client certificate are made
 * with `openssl` for it. Containers still publish on the engine's own
 * loopback address (`address`, 127.0.0.N), so a platform config names both.
 *
 * @example
 * const engine = await startTlsDockerEngine({ name: 'tls' });
 * const host = { name: engine.name, docker: engine.docker, tls: engine.tls, address: engine.address };
 */
export async function startTlsDockerEngine(options: Omit<StartDockerEngineOptions, 'tlsListener'> = {}): Promise<TlsDockerEngine> {
  const certificatesDir = mkdtempSync('/tmp/bt-');
  try {
    const [trusted, strangers] = await Promise.all([makeTestCertificates(certificatesDir), makeTestCertificates(certificatesDir, 'untrusted-')]);
    let engine: PrivateDockerEngine | undefined;
    let port = 0;
    // The free port is only free until dockerd binds it: another process may take it first.
    for (let attempt = 1; engine === undefined; attempt += 1) {
      port = await freePort();
      try {
        engine = await startDockerEngine({ ...options, tlsListener: { host: '127.0.0.1', port, ...trusted.server } });
      } catch (error) {
        if (attempt >= 3 || !/address already in use/i.test(String(error))) throw error;
      }
    }
    const started = engine;
    try {
      await waitForTlsPing(port, trusted.client, options.timeoutMs ?? 30_000);
    } catch (error) {
      await started.stop();
      throw error;
    }
    const stopEngine = started.stop;
    let stopping: Promise<void> | undefined;
    return {
      ...started,
      docker: `tcp://127.0.0.1:${port}`,
      tls: trusted.client,
      untrusted: strangers.client,
      certificatesDir,
      stop: () =>
        (stopping ??= stopEngine().finally(() => rmSync(certificatesDir, { recursive: true, force: true }))),
    };
  } catch (error) {
    rmSync(certificatesDir, { recursive: true, force: true });
    throw error;
  }
}

/** Waits until the engine answers `/_ping` over TLS with the client's certificate: the TCP listener may come up after the socket. */
async function waitForTlsPing(port: number, client: TlsFiles, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pem = { ca: readFileSync(client.ca), cert: readFileSync(client.cert), key: readFileSync(client.key) };
  let last = '';
  for (;;) {
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/_ping', timeout: 2_000, ...pem }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
        req.on('error', reject);
        req.end();
      });
      if (status === 200) return;
      last = `HTTP ${status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`the engine's TLS port 127.0.0.1:${port} did not answer /_ping within ${timeoutMs} ms: ${last}`);
    await sleep(100);
  }
}

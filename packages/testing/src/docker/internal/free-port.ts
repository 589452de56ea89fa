import { createServer } from 'node:net';

/**
 * A TCP port that was free on `host` a moment ago, for a program that takes
 * its port on the command line (dockerd, sshd) and cannot report one it
 * picked itself. Another process may take it first: callers retry on a clash.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`no free port on ${host}`))));
    });
  });
}

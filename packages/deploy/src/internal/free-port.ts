import { createServer } from 'node:net';

/**
 * A port that was free a moment ago (bind port 0, read it back, close). Racy
 * by nature on a shared machine: whoever binds it next must fail loudly on a
 * clash and try another — HAProxy does, with `noreuseport`.
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read back an ephemeral port'))));
    });
  });
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLoad } from './harness/index.js';

// The harness's failure count is what every zero in the rolling-restart suite
// rests on, so it is checked against a server that drops requests on purpose.
describe('load harness counts failures autocannon does not', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
    server = undefined;
  });

  it('counts a request whose keep-alive connection closes without an answer as lost', async () => {
    let seen = 0;
    let dropped = 0;
    let failedOnPurpose = 0;
    server = createServer((request, response) => {
      seen += 1;
      if (seen % 40 === 0) {
        // The way a dying backend looks through HAProxy: the connection just ends.
        dropped += 1;
        request.socket.destroy();
      } else if (seen % 97 === 0) {
        failedOnPurpose += 1;
        response.writeHead(503).end();
      } else {
        response.end('ok');
      }
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    const load = startLoad({ url: `http://127.0.0.1:${port}`, connections: 8, maxRequests: 4000, maxDurationMs: 20_000 });
    const report = await load.done;

    expect(dropped).toBeGreaterThan(50);
    // Every dropped request is a failure (lost, or reset when the close raced a write)...
    expect(report.lost + report.resets + report.errors).toBe(dropped);
    expect(report.non2xx).toBe(failedOnPurpose);
    expect(report.failed).toBe(dropped + failedOnPurpose);
    // ...and the books balance: every request sent is answered, failed or in flight.
    expect(report.sent).toBe(report.responses + report.lost + report.resets + report.errors + report.timeouts + report.inFlightAtStop);
    expect(report.responses + dropped).toBe(seen);
    // autocannon on its own sees almost none of the dropped requests.
    expect(report.autocannon.errors).toBeLessThan(dropped);
  });
});

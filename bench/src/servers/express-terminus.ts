// Express + @godaddy/terminus with a health check, as its README sets it up.
import { createServer } from 'node:http';
import { createTerminus } from '@godaddy/terminus';
import { createExpressApp } from './express-app.js';
import { reportListening } from './report-listening.js';

const server = createServer(createExpressApp());
createTerminus(server, {
  healthChecks: { '/healthz': async () => ({ ok: true }) },
  signals: ['SIGTERM', 'SIGINT'],
  timeout: 10_000,
});
server.listen(0, '127.0.0.1', () => reportListening(server.address()));

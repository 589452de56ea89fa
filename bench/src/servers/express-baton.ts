// Express + Baton as a user sets it up: probe routes in front of the app and
// the lifecycle tracking every connection and request.
// TODO(adapter): switch to `baton(app, opts).listen()` from @baton/express once it lands.
import { serve, silentLogger } from '@baton/lifecycle';
import { createExpressApp } from './express-app.js';
import { reportListening } from './report-listening.js';

const served = await serve({
  handler: createExpressApp(),
  port: 0,
  host: '127.0.0.1',
  signals: false,
  exit: false,
  lifecycle: { logger: silentLogger, shutdown: { propagationDelayMs: 0 } },
});
await served.ready;
reportListening(served.server.address());

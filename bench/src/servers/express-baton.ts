// Express + Baton as its README sets it up: `baton(app)` before the routes
// (probe middleware in front of them, the lifecycle tracking every
// connection and request), then `serve()`, the runner a service uses.
import { baton, type BatonExpress } from '@baton/express';
import { createExpressApp } from './express-app.js';
import { reportListening } from './report-listening.js';

let wired: BatonExpress | undefined;
const app = createExpressApp((bare) => {
  wired = baton(bare, { lifecycle: { shutdown: { propagationDelayMs: 0 } } });
});
if (!wired) throw new Error('baton() was not called');
const served = await wired.serve({ port: 0, host: '127.0.0.1' });
await served.ready;
reportListening(served.server.address());

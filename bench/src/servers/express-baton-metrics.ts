// Express + Baton with metrics: as `express-baton.ts` (lifecycle, probes,
// `serve()`), plus `createMetrics()` recording every request by route
// template and serving `/metrics` on the app.
import { baton, type BatonExpress } from '@baton/express';
import { createExpressApp } from './express-app.js';
import { createBatonMetrics } from './metrics-setup.js';
import { reportListening } from './report-listening.js';

let wired: BatonExpress | undefined;
createExpressApp((bare) => {
  wired = baton(bare, { lifecycle: { shutdown: { propagationDelayMs: 0 } }, metrics: createBatonMetrics() });
});
if (!wired) throw new Error('baton() was not called');
const served = await wired.serve({ port: 0, host: '127.0.0.1' });
await served.ready;
reportListening(served.server.address());

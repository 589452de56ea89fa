// Express + express-prom-bundle (see metrics-setup.ts for its options).
import { createExpressApp } from './express-app.js';
import { mountPromBundle } from './metrics-setup.js';
import { reportListening } from './report-listening.js';

const server = createExpressApp(mountPromBundle).listen(0, '127.0.0.1', () => reportListening(server.address()));

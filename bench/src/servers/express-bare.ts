// Bare Express: the baseline of the Express variants.
import { createExpressApp } from './express-app.js';
import { reportListening } from './report-listening.js';

const server = createExpressApp().listen(0, '127.0.0.1', () => reportListening(server.address()));

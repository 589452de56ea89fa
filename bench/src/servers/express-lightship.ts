// Express + lightship: lightship runs its probes on a second server of its
// own, so the app's request path is untouched; this variant measures what
// that second server and its timers cost the process.
import net from 'node:net';
import { createLightship } from 'lightship';
import { createExpressApp } from './express-app.js';
import { reportListening } from './report-listening.js';

keepListenersOnLoopback();

const lightship = await createLightship({ signals: [], terminate: () => {} });
const server = createExpressApp().listen(0, '127.0.0.1', () => {
  lightship.signalReady();
  reportListening(server.address());
});
lightship.registerShutdownHandler(() => new Promise<void>((resolve) => server.close(() => resolve())));

/**
 * Lightship binds its probe server to 0.0.0.0 with no option to change it;
 * the benchmark stays on the loopback, so that bind is moved to 127.0.0.1.
 */
function keepListenersOnLoopback(): void {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
    const first = args[0];
    if (typeof first === 'object' && first !== null && 'host' in first && (first as net.ListenOptions).host === '0.0.0.0') {
      args[0] = { ...(first as net.ListenOptions), host: '127.0.0.1' };
    }
    return (listen as (...a: unknown[]) => net.Server).apply(this, args);
  } as typeof net.Server.prototype.listen;
}

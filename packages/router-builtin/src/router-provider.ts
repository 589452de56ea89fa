import type { RouterProvider } from '@baton/deploy';
import { isProcessAlive, recordedRouterUrl } from '@baton/deploy/kit';
import { connectBuiltinRouter, startBuiltinRouter, stopBuiltinRouter } from './builtin-router.js';
import { builtinRouterPaths, readProcessRecord } from './internal/builtin-state.js';

/** `router: { kind: 'builtin' }`: the router Baton falls back to when no other is configured; it needs nothing installed. */
export const routerProvider: RouterProvider = {
  kind: 'builtin',
  displayName: 'built-in',
  logFiles: ['router.log'],
  unavailable: () => undefined,
  async start(settings) {
    await startBuiltinRouter({
      stateDir: settings.dir,
      ...(settings.port === undefined ? {} : { port: settings.port }),
      ...(settings.host === undefined ? {} : { host: settings.host }),
      limits: settings.limits,
      trustForwarded: settings.trustForwarded,
      expose: settings.expose,
    });
    return connectBuiltinRouter({ stateDir: settings.dir });
  },
  connect: (dir) => connectBuiltinRouter({ stateDir: dir }),
  async isRunning(dir) {
    const record = await readProcessRecord(builtinRouterPaths(dir).stateFile);
    // A zombie (exited, its new parent not reaping it) is not running.
    return record !== undefined && isProcessAlive(record.pid, record.identity);
  },
  recordedUrl: recordedRouterUrl,
  stop: (dir) => stopBuiltinRouter({ stateDir: dir }),
};

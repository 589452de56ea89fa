import type { RouterProvider } from '@baton/deploy';
import { recordedRouterUrl } from '@baton/deploy/kit';
import { nginxProblemSync } from './nginx-binary.js';
import { connectNginxRouter, nginxRouterRunning, startNginxRouter, stopNginxRouter } from './nginx-router.js';

/** `router: { kind: 'nginx' }`: nginx started by Baton, steered by rewriting its configuration and reloading it gracefully. */
export const routerProvider: RouterProvider = {
  kind: 'nginx',
  displayName: 'nginx',
  logFiles: ['error.log'],
  unavailable: nginxProblemSync,
  start: (settings) =>
    startNginxRouter({
      dir: settings.dir,
      ...(settings.port === undefined ? {} : { port: settings.port }),
      ...(settings.host === undefined ? {} : { host: settings.host }),
      readinessPath: settings.readinessPath,
      metricsPath: settings.expose.metricsPaths[0] ?? '/metrics',
      maxConnections: settings.limits.maxConnections,
      headersTimeoutMs: settings.limits.headersTimeoutMs,
      bodyTimeoutMs: settings.limits.bodyTimeoutMs,
      keepAliveTimeoutMs: settings.limits.keepAliveTimeoutMs,
      trustForwarded: settings.trustForwarded,
      expose: { ...settings.expose, metricsPaths: [...settings.expose.metricsPaths], probePaths: [...settings.expose.probePaths] },
    }),
  connect: (dir) => connectNginxRouter({ dir }),
  isRunning: (dir) => nginxRouterRunning(dir),
  recordedUrl: recordedRouterUrl,
  stop: (dir) => stopNginxRouter({ dir }),
};

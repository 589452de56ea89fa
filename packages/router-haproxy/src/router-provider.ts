import type { RouterProvider } from '@baton/deploy';
import { recordedRouterUrl } from '@baton/deploy/kit';
import { join } from 'node:path';
import { findHaproxy, runningMaster } from './haproxy-process.js';
import { connectHaproxyRouter, startHaproxyRouter, stopHaproxyRouter } from './haproxy-router.js';

/** True when HAProxy is installed (on PATH, or in /usr/sbin, /usr/local/sbin). */
export function haproxyInstalled(): boolean {
  return findHaproxy() !== undefined;
}

/** `router: { kind: 'haproxy' }` (and `auto` where HAProxy is installed): HAProxy started by Baton, steered through its Runtime API. */
export const routerProvider: RouterProvider = {
  kind: 'haproxy',
  displayName: 'HAProxy',
  logFiles: ['haproxy.log'],
  unavailable: () => (haproxyInstalled() ? undefined : '`haproxy` is not installed: install it (apt-get install haproxy) or use router.kind builtin.'),
  start: (settings) =>
    startHaproxyRouter({
      stateDir: settings.dir,
      readinessPath: settings.readinessPath,
      ...(settings.port === undefined ? {} : { port: settings.port }),
      ...(settings.host === undefined ? {} : { host: settings.host }),
      maxConnections: settings.limits.maxConnections,
      timeouts: { httpRequestMs: settings.limits.headersTimeoutMs, clientMs: settings.limits.bodyTimeoutMs, keepAliveMs: settings.limits.keepAliveTimeoutMs },
      trustForwarded: settings.trustForwarded,
      expose: { ...settings.expose, metricsPaths: [...settings.expose.metricsPaths], probePaths: [...settings.expose.probePaths] },
    }),
  connect: (dir) => connectHaproxyRouter({ stateDir: dir }),
  isRunning: async (dir) => (await runningMaster(join(dir, 'haproxy.pid'), join(dir, 'haproxy.cfg'))) !== undefined,
  recordedUrl: recordedRouterUrl,
  stop: (dir) => stopHaproxyRouter({ stateDir: dir }),
};

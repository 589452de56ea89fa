import type { RouterProvider } from '@baton/deploy';
import { recordedRouterUrl } from '@baton/deploy/kit';
import { spawnSync } from 'node:child_process';
import { findNginx, MIN_NGINX_VERSION, parseNginxVersion } from './nginx-binary.js';
import { connectNginxRouter, nginxRouterRunning, startNginxRouter, stopNginxRouter } from './nginx-router.js';

/** Why nginx cannot run here (missing, older than 1.22), checked synchronously as `unavailable()` must be. */
function unavailable(): string | undefined {
  const binary = findNginx();
  if (binary === undefined) return '`nginx` is not installed: install it (apt-get install nginx) or use router.kind builtin.';
  // nginx -v prints to stderr.
  const run = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 10_000 });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? run.error.message : ''}`;
  const version = parseNginxVersion(output);
  if (version === undefined) return `${binary} -v prints no nginx version; install nginx ${MIN_NGINX_VERSION} or later (apt-get install nginx).`;
  const [minMajor, minMinor] = MIN_NGINX_VERSION.split('.').map(Number) as [number, number];
  if (version[0] < minMajor || (version[0] === minMajor && version[1] < minMinor)) return `${binary} is nginx ${version[2]}; Baton needs ${MIN_NGINX_VERSION} or later (Debian 12's nginx, or nginx.org's packages).`;
  return undefined;
}

/** `router: { kind: 'nginx' }`: nginx started by Baton, steered by rewriting its configuration and reloading it gracefully. */
export const routerProvider: RouterProvider = {
  kind: 'nginx',
  displayName: 'nginx',
  logFiles: ['error.log'],
  unavailable,
  start: (settings) =>
    startNginxRouter({
      dir: settings.dir,
      ...(settings.port === undefined ? {} : { port: settings.port }),
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

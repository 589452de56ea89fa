import type { ReportKind } from '../health-report.js';
import type { Lifecycle } from '../lifecycle.js';

/** The probes a startup line lists: path per probe kind, and their port when they have a server of their own. */
export interface AnnouncedProbes {
  paths: Partial<Record<ReportKind, string>>;
  port?: number;
}

/**
 * Logs the runner's one startup line, once the service listens. Its
 * top-level `event: 'listening'` and `port` fields are what deploy platforms
 * read to learn the port (`baton deploy`'s local platform does): with the
 * default JSON logger the line is
 *
 *   {"time":…,"level":"info","name":"baton","msg":"listening on http://127.0.0.1:4123","event":"listening","port":4123,"url":…,"release":"v2","probes":{…}}
 *
 * and a logger of one's own (pino...) gets the same fields.
 */
export function logListening(lifecycle: Lifecycle, listening: { url: string; port: number; probes: AnnouncedProbes | undefined }): void {
  const fields: Record<string, unknown> = { event: 'listening', port: listening.port, url: listening.url };
  if (lifecycle.service !== undefined) fields.service = lifecycle.service;
  if (lifecycle.release !== undefined) fields.release = lifecycle.release;
  if (listening.probes !== undefined) fields.probes = { ...listening.probes.paths, ...(listening.probes.port === undefined ? {} : { port: listening.probes.port }) };
  lifecycle.logger.info(`listening on ${listening.url}`, fields);
}

/** The probe paths a resolved route table serves, keyed by kind. */
export function pathsByKind(routes: ReadonlyMap<string, ReportKind>): Partial<Record<ReportKind, string>> {
  const paths: Partial<Record<ReportKind, string>> = {};
  for (const [path, kind] of routes) paths[kind] = path;
  return paths;
}

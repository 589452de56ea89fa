// The API-versioning benchmark's servers: `node versioning-server.js
// <express|fastify> <app>[,<app>...]` serves one app per name, each on its own
// port (127.0.0.1, port 0); the apps are in versioning-apps.ts:
//
//   bare, bareTwin   the framework alone (bareTwin is the A/A control)
//   baton            Baton as a user wires it (lifecycle, probes), no versioning
//   latest, oldest   the same with `versioning: createBenchVersioning()`; the
//                    load generator sends them the latest and the oldest version
//
// With all of them in one process it is the twins of the CPU-per-request
// measurement; with one, a server of the separate-process throughput rounds.
// Over IPC it sends `{ ports }` once listening and answers every message with
// its CPU time so far; it exits when the parent goes away (IPC closed).
import { serveVersioningApp, VERSIONING_APPS, type VersioningApp } from './versioning-apps.js';

// ---- The process -------------------------------------------------------------

const [framework, list] = process.argv.slice(2);
const apps = (list ?? '').split(',').filter((name): name is VersioningApp => (VERSIONING_APPS as readonly string[]).includes(name));
if ((framework !== 'express' && framework !== 'fastify') || apps.length === 0 || apps.length !== (list ?? '').split(',').length) {
  throw new Error(`usage: versioning-server.js express|fastify <app>[,<app>...] (apps: ${VERSIONING_APPS.join(', ')}); got ${process.argv.slice(2).join(' ')}`);
}
const ports: Partial<Record<VersioningApp, number>> = {};
for (const app of apps) ports[app] = await serveVersioningApp(framework, app);
process.on('message', () => {
  const { user, system } = process.cpuUsage();
  process.send?.({ cpuMicros: user + system });
});
// The parent going away ends this process, so a killed benchmark leaves nothing behind.
process.on('disconnect', () => process.exit(0));
process.send?.({ ports });

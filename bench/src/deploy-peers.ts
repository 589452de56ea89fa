// The "non-strategies" teams run without an orchestrator, on the plain
// service (servers/plain-orders.ts: no drain, dies at once on SIGTERM): each
// takes the v1 instances to v2 through the same router and platform Baton uses,
// doing only what the non-strategy does.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { InstanceRecord, ReleaseSpec, Router } from '@baton/deploy';
import type { createLocalProcessPlatform } from '@baton/platform-local';

export interface ScenarioContext {
  /** The release spec of `version` of the service the scenario deploys. */
  release(version: string): ReleaseSpec;
  /** The v1 instances, as the journal has them after the bring-up. */
  v1: InstanceRecord[];
  router: Router;
  platform: ReturnType<typeof createLocalProcessPlatform>;
  /** Processes a scenario started outside the journal: stopped at the end. */
  extra: InstanceRecord[];
  children: ChildProcess[];
}

export type PeerScenario = (context: ScenarioContext) => Promise<void>;

/** Kill an instance, start its replacement, point the router at it as soon as it listens; one by one. */
export async function killThenStart(context: ScenarioContext): Promise<void> {
  let n = 100;
  for (const old of context.v1) {
    if (old.pid !== undefined) process.kill(old.pid, 'SIGKILL');
    const next = await context.platform.start(context.release('v2'), { id: `v2-${n++}` });
    context.extra.push(next);
    await context.router.add({ id: next.id, release: 'v2', host: next.host, port: next.port });
    await context.router.set([
      { id: next.id, state: 'ready', weight: 100 },
      { id: old.id, state: 'maint' },
    ]);
    await context.router.remove(old.id).catch(() => undefined);
  }
}

/** Start the new set, switch every target at once, stop the old set at once: no drain, no readiness gate. */
export async function switchWithoutDrain(context: ScenarioContext): Promise<void> {
  const started = await Promise.all(context.v1.map((_, i) => context.platform.start(context.release('v2'), { id: `v2-${200 + i}` })));
  context.extra.push(...started);
  for (const next of started) await context.router.add({ id: next.id, release: 'v2', host: next.host, port: next.port });
  await context.router.set([...started.map((next) => ({ id: next.id, state: 'ready' as const, weight: 100 })), ...context.v1.map((old) => ({ id: old.id, state: 'maint' as const }))]);
  await Promise.all(context.v1.map((old) => context.platform.stop(old, { deadlineMs: 10_000 })));
  for (const old of context.v1) await context.router.remove(old.id).catch(() => undefined);
}

/** systemd-style: stop each instance and start the new release on its port; the router is never told. */
export async function restartInPlace(context: ScenarioContext): Promise<void> {
  for (const old of context.v1) {
    await context.platform.stop(old, { deadlineMs: 10_000 });
    const spec = context.release('v2');
    const child = spawn(spec.command ?? process.execPath, spec.args ?? [], {
      env: { ...process.env, ...spec.env, PORT: String(old.port), HOST: old.host, RELEASE: 'v2' },
      stdio: 'ignore',
    });
    context.children.push(child);
    await untilAccepting(old.host, old.port, child);
  }
}

/** Resolves once `host:port` accepts TCP connections; rejects if `child` exits first or 20 s pass. */
async function untilAccepting(host: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`the restarted instance exited (${exited}) before listening on port ${port}`);
    if (await accepts(host, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the restarted instance did not listen on port ${port} within 20 s`);
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
  });
}

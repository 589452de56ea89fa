import { createFileJournal } from './journal/file-journal.js';
import type { Artifact, BackendStatus, Journal, Router } from './model.js';
import { describeArtifact } from './releases/release-record.js';
import type { ResolvedDeployConfig } from './deploy-config.js';
import { serviceRedactor } from './internal/service-redactor.js';
import type { StackColor } from './dns/dns-switch-config.js';
import { connectRecordedStacks, stacksRecorded } from './dns/stack-routers.js';
import { recordedRouterKind, routerName, routerProviderOf, statePaths, type RouterKind } from './service-router.js';
import { isDown, isFinished, type DeployPhase, type ServiceState } from './service-state.js';

/** What `baton status` shows. */
export interface ServiceStatus {
  service: string;
  /** The environment, of a config that declares them. */
  environment?: string;
  stateDir: string;
  stable?: string;
  /** The artifact the stable release runs (see `baton releases`); absent when it runs in place, unpinned. */
  stableArtifact?: Artifact;
  previous?: string;
  /** Set while the service stands taken down (`baton down`, no deploy since): when, and the release that was serving. */
  down?: { atMs: number; release?: string };
  /** The router, when one is recorded: its address and backends, or why it could not be asked. */
  router?: { kind: RouterKind; url: string; backends: BackendStatus[] } | { kind: RouterKind; error: string };
  /** Blue/green by DNS: each color's router address and release, and which color the record points at (as Baton last set it). */
  stacks?: { live?: StackColor; colors: Record<StackColor, { url: string; release?: string }> };
  instances: ServiceState['instances'];
  deploy?: { id: string; from?: string; to: string; phase: DeployPhase; step: string; reason?: string };
}

/** Reads the journal (without its lock: status is safe while a deploy runs) and asks the router for its backends. */
export async function readStatus(config: ResolvedDeployConfig): Promise<ServiceStatus> {
  const paths = statePaths(config.stateDir);
  const journal: Journal<ServiceState> = createFileJournal<ServiceState>({ dir: paths.journal });
  const state = await journal.read();
  const status: ServiceStatus = { service: config.service, stateDir: config.stateDir, instances: state?.instances ?? [] };
  if (config.environment !== undefined) status.environment = config.environment;
  if (state?.stable) status.stable = state.stable.version;
  if (state?.stable?.artifact) status.stableArtifact = state.stable.artifact;
  if (state?.previous) status.previous = state.previous.version;
  if (isDown(state)) status.down = { ...state.down };
  const kind = await recordedRouterKind(config.stateDir);
  if (kind !== undefined) {
    let provider;
    try {
      provider = await routerProviderOf(config, kind);
      const router: Router = await provider.connect(paths.router);
      status.router = { kind, url: router.url, backends: await router.backends() };
      await router.close();
    } catch (error) {
      // Not running at all (a reboot, a killed router) is no fault of the state: the next deploy starts it, on its old port.
      const url = provider === undefined || (await provider.isRunning(paths.router)) ? undefined : await provider.recordedUrl(paths.router);
      status.router = { kind, error: url === undefined ? (error instanceof Error ? error.message : String(error)) : `not running; the next baton deploy starts it again at ${url}` };
    }
  }
  if (kind === undefined && (await stacksRecorded(config.stateDir))) {
    // Blue/green by DNS: both stacks' routers, their backends together, at the record's name.
    try {
      const stacks = await connectRecordedStacks(config.stateDir, config.lookupFrom);
      if (stacks !== undefined) {
        const dns = config.strategy.type === 'blue-green' ? config.strategy.switch : undefined;
        const url = dns === undefined ? stacks.url : `http://${dns.name}:${new URL(stacks.url).port}`;
        status.router = { kind: stacks.kind, url, backends: await stacks.backends() };
        const live = await stacks.live().catch(() => undefined);
        const colorOf = async (color: StackColor): Promise<{ url: string; release?: string }> => {
          const release = await stacks.releaseOf(color);
          return { url: stacks.stacks[color].url, ...(release === undefined ? {} : { release }) };
        };
        status.stacks = { ...(live === undefined ? {} : { live }), colors: { blue: await colorOf('blue'), green: await colorOf('green') } };
        await stacks.close();
      }
    } catch (error) {
      status.router = { kind: 'stacks', error: error instanceof Error ? error.message : String(error) };
    }
  }
  const record = state?.deploy;
  if (record !== undefined) {
    const step = record.steps[record.stepIndex];
    status.deploy = { id: record.id, to: record.to, phase: record.phase, step: step === undefined ? 'done' : `${record.stepIndex + 1}/${record.steps.length} ${step.kind}` };
    if (record.from !== undefined) status.deploy.from = record.from;
    // Scrubbed when journaled; again here for a journal an older Baton wrote.
    if (record.reason !== undefined) status.deploy.reason = serviceRedactor(config, state).text(record.reason);
  }
  return status;
}

/** `baton status` for people: what runs now first, then the router, the instances and the last deploy. */
export function formatStatus(status: ServiceStatus): string {
  const lines = [`${headline(status)}  (state in ${status.stateDir})`];
  if (status.stable !== undefined && status.down === undefined) lines.push(`release ${status.stable}: ${describeArtifact(status.stableArtifact)}`);
  if (status.router === undefined) lines.push('router: none running (baton deploy starts one, on router.port or else a free port)');
  else if ('error' in status.router) lines.push(`router (${routerName(status.router.kind)}): ${status.router.error}`);
  else {
    lines.push(`router (${routerName(status.router.kind)}) at ${status.router.url}${status.router.backends.length === 0 ? ': no instance in it' : ':'}`);
    // A baseline instance runs the stable release's code but is not one of its own: said, so nobody counts it as such.
    const baselines = new Set(status.instances.filter((instance) => instance.role === 'baseline').map((instance) => instance.id));
    for (const backend of status.router.backends) {
      const role = baselines.has(backend.id) ? `  (baseline of ${backend.release} beside the canary)` : '';
      lines.push(`  ${backend.id.padEnd(12)} ${backend.release.padEnd(8)} ${backend.state.padEnd(6)} weight ${String(backend.weight).padStart(3)}  in flight ${backend.inFlight}  served ${backend.requestsTotal}${role}`);
    }
  }
  if (status.stacks !== undefined) {
    const { live, colors } = status.stacks;
    const stack = (color: StackColor): string => `${color} at ${colors[color].url} (${colors[color].release ?? 'no release'})`;
    lines.push(`DNS: the record points at ${live === undefined ? 'neither stack yet' : stack(live)}; ${live === 'green' ? stack('blue') : stack('green')}`);
  }
  const live = status.instances.filter((instance) => instance.status !== 'stopped');
  lines.push(`instances: ${live.length === 0 ? 'none' : live.map((instance) => `${instance.id} (${instance.status}, :${instance.port}${instance.role === 'baseline' ? `, baseline of ${instance.release}` : ''})`).join(', ')}`);
  const deploy = status.deploy;
  if (deploy) {
    const open = !isFinished(deploy.phase);
    lines.push(`${open ? 'deploy' : 'last deploy'} ${deploy.id}: ${deploy.from ? `${deploy.from} → ` : ''}${deploy.to}, ${deploy.phase}${open ? `, step ${deploy.step}` : ''}${deploy.reason ? ` — ${deploy.reason}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The first line: what serves now, in words that stay true after `baton down` and a first deploy rolled back. */
function headline(status: ServiceStatus): string {
  const service = status.environment === undefined ? status.service : `${status.service} in ${status.environment}`;
  return headlineOf({ ...status, service });
}

function headlineOf(status: ServiceStatus): string {
  if (status.down !== undefined) {
    return `${status.service}: down since ${formatTime(status.down.atMs)} (baton down), nothing running${status.down.release ? `; the last release was ${status.down.release}` : ''}`;
  }
  if (status.stable !== undefined) return `${status.service}: stable ${status.stable}${status.previous ? `, previous ${status.previous}` : ''}`;
  const deploy = status.deploy;
  if (deploy === undefined) return `${status.service}: nothing deployed yet`;
  if (!isFinished(deploy.phase)) return `${status.service}: first deploy of ${deploy.to} in progress (${deploy.phase})`;
  return `${status.service}: nothing running (the deploy of ${deploy.to} ${deploy.phase})${status.previous ? `; previous ${status.previous}` : ''}`;
}

function formatTime(atMs: number): string {
  return `${new Date(atMs).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

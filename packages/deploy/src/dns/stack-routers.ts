import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import type { ResolvedDeployConfig } from '../deploy-config.js';
import { ensurePrivateDir } from '../internal/private-dir.js';
import type { Router } from '../model.js';
import { loadRouterProvider } from '../provider-lookup.js';
import { connectOrStartRouterAt, recordedKindAt, statePaths, takeDownRouterAt, type RouterKind } from '../service-router.js';
import { dnsRecord } from './dns-record.js';
import { dnsSwitchSettings, recordTypeOf, STACK_COLORS, type DnsSwitchConfig, type StackColor } from './dns-switch-config.js';
import { StackRouter } from './stack-router.js';

/**
 * Where each color's router lives: `<stateDir>/stacks/<color>` (kept short:
 * a router's unix sockets live in it), its kind in `<color>.kind` beside it,
 * and which release each color serves in `colors.json`.
 */
export function stackPaths(stateDir: string, color: StackColor): { dir: string; kindFile: string } {
  const stacks = statePaths(stateDir).stacks;
  return { dir: join(stacks, color), kindFile: join(stacks, `${color}.kind`) };
}

function colorsFileOf(stateDir: string): string {
  return join(statePaths(stateDir).stacks, 'colors.json');
}

/**
 * Connects to both stacks' routers of a DNS blue/green service, starting
 * those not running (each on its color's address and `router.port`), with
 * the record that switches between them. The key's secret is read from the
 * environment now: a deploy without it stops before anything starts.
 */
export async function openStacks(config: ResolvedDeployConfig, switchConfig: DnsSwitchConfig, options: { start: boolean; onStart?: (kind: RouterKind) => void }): Promise<StackRouter> {
  const dns = dnsSwitchSettings(switchConfig);
  const port = config.router.port;
  if (port === undefined || port === 0) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', 'router.port: blue/green by DNS needs a fixed port, the same on both stacks (a DNS record carries an address, not a port).');
  }
  const secret = process.env[dns.key.secretEnv];
  if (secret === undefined || secret === '') {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `strategy.switch.key.secretEnv: the environment variable ${dns.key.secretEnv} holds the TSIG key's secret, and it is not set; nothing was started.`);
  }
  await ensurePrivateDir(statePaths(config.stateDir).stacks, () => true);
  const opened: Partial<Record<StackColor, Router>> = {};
  try {
    for (const color of STACK_COLORS) {
      const router = await connectOrStartRouterAt(config, { ...stackPaths(config.stateDir, color), host: dns.stacks[color].address }, options);
      if (router === undefined) throw new BatonError('BATON_ERR_ROUTER', `The ${color} stack's router is not running.`);
      opened[color] = router;
    }
  } catch (error) {
    await Promise.all(Object.values(opened).map((router) => router.close().catch(() => {})));
    throw error;
  }
  const record = dnsRecord({ server: dns.server, zone: dns.zone, name: dns.name, type: recordTypeOf(dns), key: { name: dns.key.name, algorithm: dns.key.algorithm, secret } });
  return new StackRouter({ stacks: opened as Record<StackColor, Router>, colorsFile: colorsFileOf(config.stateDir), port, config: dns, record });
}

/** True when a stack's router is recorded in the state directory (a DNS blue/green service). */
export async function stacksRecorded(stateDir: string): Promise<boolean> {
  for (const color of STACK_COLORS) {
    try {
      await access(stackPaths(stateDir, color).kindFile);
      return true;
    } catch {
      // Not this one.
    }
  }
  return false;
}

/**
 * Both stacks' routers, connected, without the record (`baton down` drains
 * them, `baton status` lists them); undefined when none is recorded. A
 * recorded stack that cannot be reached rejects.
 */
export async function connectRecordedStacks(stateDir: string, from: readonly string[]): Promise<StackRouter | undefined> {
  if (!(await stacksRecorded(stateDir))) return undefined;
  const opened: Partial<Record<StackColor, Router>> = {};
  for (const color of STACK_COLORS) {
    const { dir, kindFile } = stackPaths(stateDir, color);
    const kind = await recordedKindAt(kindFile);
    if (kind === undefined) throw new BatonError('BATON_ERR_ROUTER', `The ${color} stack's router is not recorded (${kindFile} is missing) while the other one is.`);
    opened[color] = await (await loadRouterProvider(kind, { from })).connect(dir);
  }
  const port = Number(new URL(opened.blue?.url ?? 'http://x:0').port);
  return new StackRouter({ stacks: opened as Record<StackColor, Router>, colorsFile: colorsFileOf(stateDir), port });
}

/** Stops both stacks' routers, keeping their logs as `<stateDir>/logs/<color>-<kind>-router.log`. */
export async function takeDownStacks(stateDir: string, from: readonly string[]): Promise<void> {
  if (!(await stacksRecorded(stateDir))) return;
  const logs = statePaths(stateDir).logs;
  for (const color of STACK_COLORS) await takeDownRouterAt({ ...stackPaths(stateDir, color), logPrefix: `${color}-` }, from, logs);
  await rm(statePaths(stateDir).stacks, { recursive: true, force: true });
}

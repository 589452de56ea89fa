import { dnsSwitchSettings, type DnsSwitchConfig } from '../dns/dns-switch-config.js';
import type { Step } from './step.js';

/** A blue/green deploy: the whole candidate set up and verified, then all traffic at once. */
export interface BlueGreenStrategy {
  type: 'blue-green';
  /** After the switch, judge the candidate over this long (0: none); default 0. */
  analysisMs?: number;
  /** Keep the stable release running out of traffic this long after the switch, for an instant rollback; default 30 s. */
  rollbackWindowMs?: number;
  /**
   * How traffic moves: left out, by the router's weights (one router in front
   * of both releases); `{ kind: 'dns' }`, by the service's DNS record between
   * two stacks, each color its own router on its own address.
   */
  switch?: DnsSwitchConfig;
}

/**
 * Plans a blue/green deploy: start the full candidate set (each gets traffic
 * only once ready), switch every request to it in one step, keep the stable
 * release warm through the rollback window, then retire it.
 *
 * By DNS, clients move as their caches expire, not at once: the TTL is
 * lowered first (when configured) and the old one waited out before the
 * switch, and the old stack retires only once its traffic has stopped —
 * no new request for the TTL plus a margin — and after the rollback window.
 */
export function planBlueGreen(strategy: BlueGreenStrategy, instances: number): Step[] {
  const dns = strategy.switch === undefined ? undefined : dnsSwitchSettings(strategy.switch);
  const lowered = dns?.lowerTtlTo;
  const steps: Step[] = [{ kind: 'traffic', candidatePercent: 0 }];
  if (dns !== undefined && lowered !== undefined) steps.push({ kind: 'dns-ttl', action: 'lower', ttl: lowered });
  steps.push({ kind: 'scale', release: 'candidate', instances });
  if (dns !== undefined && lowered !== undefined) steps.push({ kind: 'dns-ttl', action: 'await', ttl: dns.ttl });
  steps.push({ kind: 'traffic', candidatePercent: 100 });
  const analysisMs = strategy.analysisMs ?? 0;
  if (analysisMs > 0) steps.push({ kind: 'analysis', durationMs: analysisMs });
  const holdMs = strategy.rollbackWindowMs ?? 30_000;
  if (dns !== undefined) steps.push({ kind: 'stragglers', holdMs, ttl: lowered ?? dns.ttl, marginMs: dns.marginMs, deadlineMs: dns.deadlineMs });
  else if (holdMs > 0) steps.push({ kind: 'hold', durationMs: holdMs });
  steps.push({ kind: 'scale', release: 'stable', instances: 0 });
  if (dns !== undefined && lowered !== undefined) steps.push({ kind: 'dns-ttl', action: 'restore', ttl: dns.ttl });
  return steps;
}

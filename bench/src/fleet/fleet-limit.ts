// The fleet deploy's physical limit and where its time went, from the deploy's
// own events. The limit is the deploy bench's (physicalLimitMs: per step, the
// slowest instance's spawn-to-ready plus the slowest drain, steps one after
// the other, the instances of one step together) plus the waits a strategy
// fixes by itself (each analysis window, each timed pause): no orchestrator,
// however fast, can finish before them.
import type { DeployEvent } from '@baton/deploy';
import { physicalLimitMs } from '../deploy-bench.js';

interface StepData {
  kind?: string;
  release?: string;
  durationMs?: number;
}

const stepOf = (event: DeployEvent): StepData => (event.data?.['step'] ?? {}) as StepData;

/** Analysis windows judged and timed pauses waited, in ms: each analysis event closes one window of its step's length. */
export function fixedWaitsMs(events: readonly DeployEvent[]): number {
  let current: StepData = {};
  let total = 0;
  for (const event of events) {
    if (event.type === 'step') {
      current = stepOf(event);
      if ((current.kind === 'pause' || current.kind === 'hold') && typeof current.durationMs === 'number') total += current.durationMs;
    }
    if (event.type === 'analysis' && current.kind === 'analysis' && typeof current.durationMs === 'number') total += current.durationMs;
  }
  return total;
}

/** The least time the deploy could take (see the file's comment). */
export function fleetLimitMs(events: readonly DeployEvent[]): number {
  return physicalLimitMs(events) + fixedWaitsMs(events);
}

/** One kind of step, summed over the deploy: its wall time and the part of it the limit accounts for. */
export interface PhaseTime {
  phase: string;
  steps: number;
  wallMs: number;
  limitMs: number;
}

/**
 * Where the deploy's wall time went, by kind of step: "start candidates"
 * (scale steps of the new release, with a canary's fresh baseline: the
 * slowest spawn-to-ready is its limit), "retire stable" and "retire
 * baseline" (the slowest drain), "analysis" (its windows), "traffic"
 * (weights only: no limit), plus "before the first step" (router connect,
 * journal, adoption) and "after the last step" (waiting for the old processes
 * to exit). wallMs − limitMs is what the orchestrator added.
 */
export function phaseTimes(events: readonly DeployEvent[], startedAtMs: number, endedAtMs: number): PhaseTime[] {
  const steps = events.filter((event) => event.type === 'step');
  const byPhase = new Map<string, PhaseTime>();
  const add = (phase: string, wallMs: number, limitMs: number): void => {
    const entry = byPhase.get(phase) ?? { phase, steps: 0, wallMs: 0, limitMs: 0 };
    entry.steps += 1;
    entry.wallMs += wallMs;
    entry.limitMs += limitMs;
    byPhase.set(phase, entry);
  };
  // The last step ends with its last piece of work; what follows is the wait for the old processes' exits (settleStops) and the report.
  const lastStepEnd = events.findLast((event) => event.type !== 'succeeded' && event.type !== 'instance-stopped')?.atMs ?? endedAtMs;
  add('before the first step', (steps[0]?.atMs ?? endedAtMs) - startedAtMs, 0);
  steps.forEach((step, i) => {
    const from = step.atMs;
    const to = steps[i + 1]?.atMs ?? lastStepEnd;
    const inside = events.filter((event) => event.atMs >= from && event.atMs <= to);
    const data = stepOf(step);
    const max = (type: string, field: string): number => Math.max(0, ...inside.filter((event) => event.type === type).map((event) => Number(event.data?.[field] ?? 0)));
    if (data.kind === 'scale' && data.release === 'candidate') add('start candidates', to - from, max('instance-ready', 'readyMs'));
    else if (data.kind === 'scale' && data.release === 'baseline') add('retire baseline', to - from, max('instance-drained', 'drainMs'));
    else if (data.kind === 'scale') add('retire stable', to - from, max('instance-drained', 'drainMs'));
    else if (data.kind === 'analysis') add('analysis', to - from, inside.filter((event) => event.type === 'analysis').length * (data.durationMs ?? 0));
    else add(data.kind ?? 'other', to - from, data.kind === 'pause' || data.kind === 'hold' ? (data.durationMs ?? 0) : 0);
  });
  add('after the last step', Math.max(0, endedAtMs - lastStepEnd), 0);
  return [...byPhase.values()];
}

/**
 * The same limit with each instance's own start (spawn → its "listening" log
 * line, where known) in place of `readyMs`, which runs until the orchestrator
 * has put the instance in the router and so holds the orchestrator's own
 * per-instance work. Instances without a known own start keep `readyMs`.
 */
export function ownStartLimitMs(events: readonly DeployEvent[], ownStartMs: ReadonlyMap<string, number>): number {
  const adjusted = events.map((event) => {
    const id = event.data?.['id'];
    if (event.type !== 'instance-ready' || typeof id !== 'string' || !ownStartMs.has(id)) return event;
    return { ...event, data: { ...event.data, readyMs: ownStartMs.get(id) } };
  });
  return fleetLimitMs(adjusted);
}

/** How long after its step began each instance was spawned (the orchestrator's work before the spawn). */
export function spawnDelays(events: readonly DeployEvent[]): number[] {
  const spawned = new Map(instanceStarts(events).map((start) => [start.id, start.spawnedAtMs]));
  const delays: number[] = [];
  let stepAt: number | undefined;
  for (const event of events) {
    if (event.type === 'step') stepAt = event.atMs;
    const id = event.data?.['id'];
    if (event.type === 'instance-started' && typeof id === 'string' && stepAt !== undefined && spawned.has(id)) delays.push((spawned.get(id) as number) - stepAt);
  }
  return delays;
}

/** Per instance started by the deploy: when it was spawned (ready event − readyMs) and when the orchestrator saw it ready. */
export function instanceStarts(events: readonly DeployEvent[]): { id: string; spawnedAtMs: number; readyAtMs: number }[] {
  return events
    .filter((event) => event.type === 'instance-ready' && typeof event.data?.['id'] === 'string')
    .map((event) => ({ id: String(event.data?.['id']), spawnedAtMs: event.atMs - Number(event.data?.['readyMs'] ?? 0), readyAtMs: event.atMs }));
}

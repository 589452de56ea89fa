import type { InstanceRecord } from '../model.js';
import type { DeployRecord } from '../service-state.js';

/**
 * What events say of an instance's role: a baseline instance (the stable
 * release started fresh beside a canary) is named as such in words and in
 * data, so nobody takes it for one of the stable release's own instances.
 */
export function roleData(instance: Pick<InstanceRecord, 'role'>): { role?: 'baseline' } {
  return instance.role === 'baseline' ? { role: 'baseline' } : {};
}

/** `v1` or `v1 baseline`: the release an instance serves, and for a baseline instance that it is one. */
export function releaseLabel(instance: Pick<InstanceRecord, 'release' | 'role'>): string {
  return instance.role === 'baseline' ? `${instance.release} baseline` : instance.release;
}

/**
 * The message of a `baseline-failed` event: what happened (`Baseline instance
 * v1-b5 exited with …`), whether it was taken out of traffic (one that never
 * got ready was never in it), and that the deploy does not fail for it — while
 * a canary runs, the analysis falls back on the warm instances.
 */
export function baselineFailedMessage(record: DeployRecord | undefined, release: string, what: string, served = true): string {
  const out = served ? '; out of traffic' : '';
  if (record === undefined || record.phase === 'rolling-back' || record.phase === 'rolled-back' || record.phase === 'failed') return `Baseline ${what}${out}.`;
  return `Baseline ${what}${out}${served ? ',' : ';'} and the canary goes on, judged against the warm instances of ${release} where no baseline instance is ready.`;
}

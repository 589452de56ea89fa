import type { InstanceRecord } from '../model.js';

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

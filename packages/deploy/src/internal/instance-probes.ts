import { abortableDelay } from '@baton/lifecycle';
import { scrape } from '@baton/metrics';
import type { InstanceRecord } from '../model.js';

/** The status code of one GET, or undefined when the instance did not answer within `timeoutMs`. */
export async function probe(url: string, timeoutMs = 1000): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return undefined;
  }
}

/**
 * Requests the instance itself is handling now (Baton's
 * `http_requests_in_flight` gauge), or undefined when it cannot be read (the
 * instance is gone, or exposes no such metric) — the caller then relies on the
 * router's count alone.
 */
export async function instanceInFlight(instance: InstanceRecord, metricsPath: string, token?: string): Promise<number | undefined> {
  try {
    const snapshot = await scrape(`${instance.url}${metricsPath}`, token === undefined ? { timeoutMs: 1000 } : { timeoutMs: 1000, token });
    const family = snapshot.families.find((candidate) => candidate.name === 'http_requests_in_flight');
    if (family === undefined) return undefined;
    return family.samples.reduce((sum, sample) => sum + sample.value, 0);
  } catch {
    return undefined;
  }
}

/** Resolves after `ms`, or rejects with the signal's own reason (the orchestrator's ReleaseFailure) as soon as it aborts. */
export const sleep = abortableDelay;

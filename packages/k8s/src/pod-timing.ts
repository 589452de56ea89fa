import { BatonError, resolveShutdownBudget, totalMs, type ShutdownBudget } from '@baton/lifecycle';
import type { InstancePaths } from '@baton/deploy';
import type { IProbe } from 'kubernetes-models/v1/Probe';

/** What {@link podTiming} needs: the service's paths, its shutdown budget and how fast the cluster moves. */
export interface PodTimingInput {
  paths: InstancePaths;
  /** The service's shutdown phases (`createLifecycle({ shutdown })`); Baton's defaults for what is left out. */
  shutdown: { propagationDelayMs?: number; drainTimeoutMs?: number; hooksTimeoutMs?: number; safetyMarginMs?: number };
  /** From deletion to no new connections reaching the pod; see `KubernetesOptions.endpointPropagationMs`. */
  endpointPropagationMs: number;
  /** From start to ready at most (the deploy's `timeouts.readyMs`): the startup probe's patience. */
  readyMs: number;
  /** A grace period the cluster imposes; computed from the budget when undefined. */
  terminationGracePeriodSeconds?: number;
}

/** Probes, grace period and `preStop` of a Baton service's pod, each with why. */
export interface PodTiming {
  startupProbe: IProbe;
  readinessProbe: IProbe;
  livenessProbe: IProbe;
  terminationGracePeriodSeconds: number;
  /** A pause before SIGTERM, only when the lifecycle's own delay is shorter than the cluster's propagation. */
  preStopSleepSeconds?: number;
  /** The budget the lifecycle runs with, its grace period the one rendered. */
  budget: ShutdownBudget;
  /** The arithmetic, in words, for the comments of the rendered objects. */
  notes: string[];
}

/** `/startupz`: Baton's startup probe path (the lifecycle serves it beside `/readyz` and `/livez`). */
export const STARTUP_PATH = '/startupz';

/**
 * Derives a pod's probes and termination timing from the service's
 * lifecycle, so Kubernetes drives it the way Baton's own orchestrator does:
 *
 * - readiness is probed often enough that a failing `/readyz` (drain begun)
 *   is seen within the propagation delay, during which the pod keeps serving;
 * - `terminationGracePeriodSeconds` covers every shutdown phase plus the safety margin;
 * - a `preStop` sleep only when the lifecycle's delay is shorter than the
 *   cluster's endpoint propagation: on deletion Kubernetes removes the pod
 *   from its endpoints and sends SIGTERM at the same time, so new connections
 *   can still arrive for that long, and the listener must still be open.
 *
 * Throws `BATON_ERR_K8S_GRACE_PERIOD` with the arithmetic when an imposed
 * grace period cannot hold the budget.
 */
export function podTiming(input: PodTimingInput): PodTiming {
  const notes: string[] = [];
  const wanted = resolveShutdownBudget({ ...input.shutdown, gracePeriodMs: 86_400_000 });
  const propagation = wanted.propagationDelayMs;
  const preStopMs = propagation < input.endpointPropagationMs ? input.endpointPropagationMs - propagation : 0;
  const preStopSleepSeconds = preStopMs > 0 ? Math.ceil(preStopMs / 1000) : undefined;
  const neededMs = (preStopSleepSeconds ?? 0) * 1000 + totalMs(wanted) + wanted.safetyMarginMs;
  const computed = Math.ceil(neededMs / 1000);
  const grace = input.terminationGracePeriodSeconds ?? computed;
  const preStopPart = preStopSleepSeconds === undefined ? '' : `preStop ${preStopSleepSeconds * 1000} + `;
  const arithmetic = `${preStopPart}propagation ${propagation} + drain ${wanted.drainTimeoutMs} + hooks ${wanted.hooksTimeoutMs} + safety margin ${wanted.safetyMarginMs} = ${neededMs} ms`;
  if (grace * 1000 < neededMs) {
    throw new BatonError(
      'BATON_ERR_K8S_GRACE_PERIOD',
      `The pod's shutdown needs ${arithmetic}, but terminationGracePeriodSeconds is ${grace} (${grace * 1000} ms): Kubernetes would SIGKILL it mid-drain. ` +
        `Raise kubernetes.terminationGracePeriodSeconds to ${computed} or more, or shorten kubernetes.shutdown's phases (and the service's createLifecycle({ shutdown }) with them).`,
    );
  }
  // The lifecycle checks its own phases against the grace period it is told of: what the pod gets, less the preStop pause.
  const budget = resolveShutdownBudget({ ...input.shutdown, gracePeriodMs: grace * 1000 - (preStopSleepSeconds ?? 0) * 1000 });
  notes.push(`terminationGracePeriodSeconds ${grace}: the shutdown needs ${arithmetic}${input.terminationGracePeriodSeconds === undefined ? '' : ' (the grace period is set in kubernetes.terminationGracePeriodSeconds)'}.`);
  if (budget.gracePeriodMs > 30_000) {
    // The lifecycle checks its phases against its own gracePeriodMs (30 s by default) at startup: past it, the service must be told.
    notes.push(`The pod gets ${budget.gracePeriodMs} ms after SIGTERM, more than the lifecycle's default gracePeriodMs (30000): give the service createLifecycle({ shutdown: { gracePeriodMs: ${budget.gracePeriodMs} } }) to match.`);
  }
  if (preStopSleepSeconds === undefined) {
    notes.push(`No preStop sleep: the lifecycle keeps serving for its propagation delay (${propagation} ms) after SIGTERM, at least the ${input.endpointPropagationMs} ms the cluster takes to stop sending new connections.`);
  } else {
    notes.push(
      `preStop sleeps ${preStopSleepSeconds} s: the lifecycle's propagation delay (${propagation} ms) is shorter than the ${input.endpointPropagationMs} ms the cluster takes to stop sending new connections after deletion, ` +
        'and SIGTERM would otherwise close the listener while connections still arrive. (A native sleep action, Kubernetes 1.30+: no shell in the image needed.)',
    );
  }

  // Readiness: seen failing within the propagation delay (period + timeout), at least every second, at most every 10 s.
  const readinessPeriod = Math.min(10, Math.max(1, Math.floor(propagation / 2000)));
  const http = (path: string) => ({ httpGet: { path, port: 'http' } });
  const readinessProbe: IProbe = { ...http(input.paths.readiness), periodSeconds: readinessPeriod, timeoutSeconds: 1, failureThreshold: 1, successThreshold: 1 };
  const seenWithinMs = (readinessPeriod + 1) * 1000;
  if (seenWithinMs <= propagation) notes.push(`readinessProbe every ${readinessPeriod} s, 1 failure: a draining pod is seen within ${seenWithinMs} ms, inside the ${propagation} ms propagation delay.`);
  else notes.push(`readinessProbe every ${readinessPeriod} s, 1 failure: seen within ${seenWithinMs} ms, longer than the ${propagation} ms propagation delay; the preStop pause covers deletions, the usual way a pod leaves.`);
  // Startup: probed every second until the deploy's readiness timeout, then the pod is restarted.
  const startupFailures = Math.max(1, Math.ceil(input.readyMs / 1000));
  const startupProbe: IProbe = { httpGet: { path: STARTUP_PATH, port: 'http' }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: startupFailures };
  notes.push(`startupProbe every 1 s, up to ${startupFailures} failures: the deploy's timeouts.readyMs (${input.readyMs} ms).`);
  // Liveness never fails for draining (the lifecycle keeps /livez up to the end): only a stuck process restarts.
  const livenessProbe: IProbe = { ...http(input.paths.liveness), periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 };
  return {
    startupProbe,
    readinessProbe,
    livenessProbe,
    terminationGracePeriodSeconds: grace,
    ...(preStopSleepSeconds === undefined ? {} : { preStopSleepSeconds }),
    budget,
    notes,
  };
}

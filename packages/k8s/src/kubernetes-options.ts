import { BatonError } from '@baton/lifecycle';

/**
 * The `kubernetes` section of a `baton.config`: what only a cluster needs.
 * Everything else — instances, strategy, steps, analysis thresholds, paths,
 * the release's environment — comes from the rest of the config, so
 * `baton deploy` and `baton k8s render` read the same numbers.
 *
 * @example
 * kubernetes: {
 *   namespace: 'orders',
 *   prometheus: { address: 'http://prometheus.monitoring:9090' },
 *   shutdown: { propagationDelayMs: 5000, drainTimeoutMs: 10_000 },
 *   resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
 * }
 */
export interface KubernetesOptions {
  /** Written into every object's `metadata.namespace`; none by default (kubectl's current namespace). */
  namespace?: string;
  /** The port the container listens on (given to it as `PORT`); default 8080. */
  port?: number;
  /** The container's `resources`, as Kubernetes takes them (`requests` / `limits` of `cpu`, `memory`...). */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  /**
   * The service's shutdown budget, as its lifecycle has it
   * (`createLifecycle({ shutdown })`, Baton's defaults otherwise):
   * `terminationGracePeriodSeconds` and any `preStop` pause are computed from it.
   */
  shutdown?: { propagationDelayMs?: number; drainTimeoutMs?: number; hooksTimeoutMs?: number; safetyMarginMs?: number };
  /**
   * How long the cluster may take to stop sending new connections to a pod
   * after it is deleted (endpoints → kube-proxy, ingress controllers);
   * default 3000 ms. Below it, the lifecycle's propagation delay gets a
   * `preStop` pause in front.
   */
  endpointPropagationMs?: number;
  /**
   * A grace period the cluster imposes (a policy, a platform's maximum). Default:
   * computed from the budget. When the budget does not fit in it, rendering refuses, with the arithmetic.
   */
  terminationGracePeriodSeconds?: number;
  /** Where Argo Rollouts' analysis asks Prometheus; needed when the strategy has an analysis. */
  prometheus?: { address: string };
  /**
   * Argo Rollouts' `trafficRouting` (e.g. `{ nginx: { stableIngress: 'orders' } }`), passed
   * through: weights are then exact. Without it a canary's weight is its share of pods.
   */
  trafficRouting?: Record<string, unknown>;
}

/** The section with its defaults. */
export interface ResolvedKubernetesOptions {
  namespace?: string;
  port: number;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  shutdown: { propagationDelayMs?: number; drainTimeoutMs?: number; hooksTimeoutMs?: number; safetyMarginMs?: number };
  endpointPropagationMs: number;
  terminationGracePeriodSeconds?: number;
  prometheus?: { address: string };
  trafficRouting?: Record<string, unknown>;
}

const KEYS = ['namespace', 'port', 'resources', 'shutdown', 'endpointPropagationMs', 'terminationGracePeriodSeconds', 'prometheus', 'trafficRouting'];
const SHUTDOWN_KEYS = ['propagationDelayMs', 'drainTimeoutMs', 'hooksTimeoutMs', 'safetyMarginMs'];
/** A DNS-1123 label: what Kubernetes accepts as a namespace or an object name. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Checks the `kubernetes` section and fills in its defaults; every problem at
 * once in one `BATON_ERR_K8S_CONFIG`, each naming its field.
 */
export function resolveKubernetesOptions(input: unknown): ResolvedKubernetesOptions {
  const problems: string[] = [];
  const section = input === undefined ? {} : input;
  if (!isObject(section)) throw configError([`kubernetes: an object; got ${describe(input)}`]);
  for (const key of Object.keys(section)) if (!KEYS.includes(key)) problems.push(`kubernetes.${key}: not a setting; known: ${KEYS.join(', ')}`);
  const resolved: ResolvedKubernetesOptions = { port: 8080, shutdown: {}, endpointPropagationMs: 3000 };
  const { namespace, port, resources, shutdown, endpointPropagationMs, terminationGracePeriodSeconds, prometheus, trafficRouting } = section;
  if (namespace !== undefined) {
    if (typeof namespace === 'string' && namespace.length <= 63 && DNS_LABEL.test(namespace)) resolved.namespace = namespace;
    else problems.push(`kubernetes.namespace: a DNS label (lower-case letters, digits, "-", at most 63); got ${describe(namespace)}`);
  }
  if (port !== undefined) {
    if (isInteger(port, 1, 65535)) resolved.port = port;
    else problems.push(`kubernetes.port: a port from 1 to 65535; got ${describe(port)}`);
  }
  if (resources !== undefined) {
    const valid = isObject(resources) && Object.entries(resources).every(([key, value]) => (key === 'requests' || key === 'limits') && isObject(value) && Object.values(value).every((quantity) => typeof quantity === 'string'));
    if (valid) resolved.resources = resources as ResolvedKubernetesOptions['resources'] & object;
    else problems.push(`kubernetes.resources: { requests?, limits? }, each of quantities as strings, e.g. { requests: { cpu: '250m', memory: '256Mi' } }; got ${describe(resources)}`);
  }
  if (shutdown !== undefined) {
    if (!isObject(shutdown)) problems.push(`kubernetes.shutdown: an object { propagationDelayMs?, drainTimeoutMs?, hooksTimeoutMs?, safetyMarginMs? }; got ${describe(shutdown)}`);
    else {
      for (const [key, value] of Object.entries(shutdown)) {
        if (!SHUTDOWN_KEYS.includes(key)) problems.push(`kubernetes.shutdown.${key}: not a phase of the shutdown budget; known: ${SHUTDOWN_KEYS.join(', ')}`);
        else if (!isInteger(value, 0, 3_600_000)) problems.push(`kubernetes.shutdown.${key}: milliseconds, an integer from 0 to 3600000; got ${describe(value)}`);
        else resolved.shutdown[key as keyof ResolvedKubernetesOptions['shutdown']] = value;
      }
    }
  }
  if (endpointPropagationMs !== undefined) {
    if (isInteger(endpointPropagationMs, 0, 600_000)) resolved.endpointPropagationMs = endpointPropagationMs;
    else problems.push(`kubernetes.endpointPropagationMs: milliseconds, an integer from 0 to 600000; got ${describe(endpointPropagationMs)}`);
  }
  if (terminationGracePeriodSeconds !== undefined) {
    if (isInteger(terminationGracePeriodSeconds, 1, 86_400)) resolved.terminationGracePeriodSeconds = terminationGracePeriodSeconds;
    else problems.push(`kubernetes.terminationGracePeriodSeconds: whole seconds from 1 to 86400; got ${describe(terminationGracePeriodSeconds)}`);
  }
  if (prometheus !== undefined) {
    const address = isObject(prometheus) ? prometheus['address'] : undefined;
    if (typeof address === 'string' && /^https?:\/\/[^\s/]+/.test(address) && Object.keys(prometheus as object).length === 1) resolved.prometheus = { address: address.replace(/\/+$/, '') };
    else problems.push(`kubernetes.prometheus: { address: 'http://prometheus.monitoring:9090' } (http or https); got ${describe(prometheus)}`);
  }
  if (trafficRouting !== undefined) {
    if (isObject(trafficRouting)) resolved.trafficRouting = trafficRouting;
    else problems.push(`kubernetes.trafficRouting: Argo Rollouts' trafficRouting object, e.g. { nginx: { stableIngress: 'orders' } }; got ${describe(trafficRouting)}`);
  }
  if (problems.length > 0) throw configError(problems);
  return resolved;
}

function configError(problems: readonly string[]): BatonError {
  return new BatonError('BATON_ERR_K8S_CONFIG', `The kubernetes section of the deploy config is invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

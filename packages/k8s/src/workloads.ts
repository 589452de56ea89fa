import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';

/** Kubernetes' ObjectMeta. */
export type ObjectMeta = NonNullable<IDeployment['metadata']>;
import type { PodTiming } from './pod-timing.js';

/** Labels every object of a service carries; the selector is the first alone. */
export const NAME_LABEL = 'app.kubernetes.io/name';
/** The pod label the service's release comes from (`RELEASE`, through the downward API), and that Prometheus copies onto its series. */
export const RELEASE_LABEL = 'release';
/** Pod label of a fresh baseline's pods (`baton-role: baseline`), `baton_role` on their series once Prometheus copies pod labels. */
export const ROLE_LABEL = 'baton-role';

/** What a service's pod runs. */
export interface PodSpecInput {
  service: string;
  version: string;
  /** Pinned by digest: `registry/orders@sha256:…`. */
  image: string;
  port: number;
  env: Readonly<Record<string, string>>;
  /** Names whose values come from the Secret `<service>-env`, never from the manifests. */
  secretEnv: readonly string[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  timing: PodTiming;
  metricsPath: string;
  /** A metrics token: Prometheus then needs it too (see the README); the pod reads it from the Secret. */
  metricsTokenFromSecret: boolean;
}

/** The metadata of an object of the service, in its namespace. */
export function objectMeta(service: string, name: string, namespace: string | undefined): ObjectMeta {
  return { name, ...(namespace === undefined ? {} : { namespace }), labels: { [NAME_LABEL]: service, 'app.kubernetes.io/managed-by': 'baton' } };
}

/** The name of the Secret a service's secret variables come from. */
export function secretName(service: string): string {
  return `${service.toLowerCase()}-env`;
}

/**
 * The pod template: the image by digest, the release as a label (and from it
 * `RELEASE`, through the downward API, so the label and the metrics always
 * agree), `BATON_INSTANCE` from the pod's name, Baton's probes and shutdown timing.
 */
export function podTemplate(input: PodSpecInput): IPodTemplateSpec {
  const { timing } = input;
  const fieldEnv = (name: string, fieldPath: string): IEnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const env: IEnvVar[] = [
    fieldEnv('RELEASE', `metadata.labels['${RELEASE_LABEL}']`),
    fieldEnv('BATON_INSTANCE', 'metadata.name'),
    { name: 'PORT', value: String(input.port) },
    // Every interface: the kubelet probes and Prometheus scrapes the pod's own address.
    { name: 'HOST', value: '0.0.0.0' },
  ];
  const fixed = new Set(env.map((variable) => variable.name));
  for (const [name, value] of Object.entries(input.env).sort(([a], [b]) => a.localeCompare(b))) {
    if (!fixed.has(name) && !input.secretEnv.includes(name)) env.push({ name, value });
  }
  const secrets = [...new Set([...input.secretEnv, ...(input.metricsTokenFromSecret ? ['BATON_METRICS_TOKEN'] : [])])].sort();
  for (const name of secrets) env.push({ name, valueFrom: { secretKeyRef: { name: secretName(input.service), key: name } } });
  return {
    metadata: {
      labels: { [NAME_LABEL]: input.service, [RELEASE_LABEL]: input.version },
      // The scrape annotations Prometheus' own example configuration (kubernetes-pods) reads.
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(input.port), 'prometheus.io/path': input.metricsPath },
    },
    spec: {
      terminationGracePeriodSeconds: timing.terminationGracePeriodSeconds,
      containers: [
        {
          name: input.service.toLowerCase(),
          image: input.image,
          ports: [{ name: 'http', containerPort: input.port, protocol: 'TCP' }],
          env,
          ...(input.resources === undefined ? {} : { resources: input.resources }),
          startupProbe: timing.startupProbe,
          readinessProbe: timing.readinessProbe,
          livenessProbe: timing.livenessProbe,
          ...(timing.preStopSleepSeconds === undefined ? {} : { lifecycle: { preStop: { sleep: { seconds: timing.preStopSleepSeconds } } } }),
        },
      ],
    },
  };
}

/** A plain Deployment: Kubernetes' rolling update, the pods' readiness gating it. */
export function deployment(options: { service: string; name: string; namespace: string | undefined; replicas: number; template: IPodTemplateSpec; maxSurge: number; maxUnavailable: number }): Deployment {
  return new Deployment({
    metadata: objectMeta(options.service, options.name, options.namespace),
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: { [NAME_LABEL]: options.service } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: options.maxSurge, maxUnavailable: options.maxUnavailable } },
      template: options.template,
    },
  });
}

/** A ClusterIP Service over the service's pods (Argo Rollouts narrows a stable/canary/preview one to its pods). */
export function service(options: { service: string; name: string; namespace: string | undefined; port: number }): Service {
  return new Service({
    metadata: objectMeta(options.service, options.name, options.namespace),
    spec: {
      selector: { [NAME_LABEL]: options.service },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  });
}

/** At most one pod out for a voluntary disruption (a node drain) at a time, whatever the replica count. */
export function disruptionBudget(options: { service: string; name: string; namespace: string | undefined }): PodDisruptionBudget {
  return new PodDisruptionBudget({
    metadata: objectMeta(options.service, options.name, options.namespace),
    spec: { maxUnavailable: 1, selector: { matchLabels: { [NAME_LABEL]: options.service } } },
  });
}

import { BatonError } from '@baton/lifecycle';
import { planDeploy, type ReleaseRecord, type ResolvedDeployConfig } from '@baton/deploy';
import { analysisMetrics, analysisTemplate } from './analysis-template.js';
import type { QuerySides, QueryWindow } from './analysis-queries.js';
import { DNS_LABEL, resolveKubernetesOptions } from './kubernetes-options.js';
import { podTiming } from './pod-timing.js';
import { blueGreenRollout, canaryRollout, canarySteps, duration } from './rollout.js';
import { deployment, disruptionBudget, podTemplate, RELEASE_LABEL, ROLE_LABEL, NAME_LABEL, service } from './workloads.js';

/** One rendered object: what it is, its body as Kubernetes takes it, and why it is so, for the comments. */
export interface RenderedObject {
  kind: string;
  name: string;
  body: Record<string, unknown>;
  comments: string[];
}

/** Everything for one release of one environment. */
export interface RenderedManifests {
  service: string;
  version: string;
  environment?: string;
  objects: RenderedObject[];
  /** What holds for the whole set (what Prometheus must do for the analysis, what is not carried over). */
  notes: string[];
}

/** The release to render: its version label and its image, pinned by digest. */
export interface RenderRelease {
  version: string;
  /** `registry.example.com/orders@sha256:<64 hex>`. */
  image: string;
}

const PINNED_IMAGE = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

/**
 * The image of a release, pinned by digest: given as is (`--image`, what a
 * CI that pushed it knows), or read from the release record's artifact. A
 * cluster pulls from a registry, so an image Docker knows only by its local
 * id is refused, with what to do.
 */
export function releaseImage(version: string, options: { image?: string; record?: ReleaseRecord }): RenderRelease {
  if (options.image !== undefined) {
    if (!PINNED_IMAGE.test(options.image)) {
      throw new BatonError('BATON_ERR_K8S_IMAGE', `The image must be pinned by digest, e.g. registry.example.com/orders@sha256:<64 hex> (what docker push prints); got ${JSON.stringify(options.image)}. A tag can move; a digest is the release.`);
    }
    return { version, image: options.image };
  }
  const artifact = options.record?.artifact;
  if (options.record === undefined) {
    throw new BatonError('BATON_ERR_K8S_IMAGE', `There is no release ${version} in the registry: create it (baton release create) from an image release, or give the image pinned by digest (--image registry/orders@sha256:…).`);
  }
  if (artifact?.kind !== 'image') {
    throw new BatonError('BATON_ERR_K8S_IMAGE', `Release ${version} is ${artifact === undefined ? 'unpinned' : `a ${artifact.kind}`}, not a container image: a cluster runs images. Give the image pinned by digest (--image registry/orders@sha256:…).`);
  }
  if (!PINNED_IMAGE.test(artifact.location)) {
    throw new BatonError(
      'BATON_ERR_K8S_IMAGE',
      `Release ${version}'s image ${artifact.source} is known only by its local id ${artifact.location}: a cluster pulls by registry digest. Push it (docker push) and create the release again, or give --image registry/orders@sha256:….`,
    );
  }
  return { version, image: artifact.location };
}

/**
 * Renders a service's Kubernetes objects for one release, from the same
 * resolved config `baton deploy` runs: a Deployment for a rolling strategy,
 * an Argo Rollouts Rollout for a canary or blue/green one (with its
 * AnalysisTemplates when it has an analysis), the Services, and a
 * PodDisruptionBudget. Every object is validated against the official schemas.
 */
export function renderManifests(config: ResolvedDeployConfig, release: RenderRelease): RenderedManifests {
  const k8s = resolveKubernetesOptions(config.kubernetes);
  const name = config.service.toLowerCase();
  if (!DNS_LABEL.test(name) || name.length > 40) {
    throw new BatonError('BATON_ERR_K8S_CONFIG', `The service name ${JSON.stringify(config.service)} is not usable as a Kubernetes name: lower-case letters, digits and "-", at most 40 (room for -preview, -canary…).`);
  }
  if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(release.version)) {
    throw new BatonError('BATON_ERR_K8S_CONFIG', `The release ${JSON.stringify(release.version)} cannot be a label value (letters, digits, "-", "_", ".", at most 63, starting and ending alphanumeric); it is the pods' ${RELEASE_LABEL} label.`);
  }
  const namespace = k8s.namespace;
  const timing = podTiming({
    paths: config.paths,
    shutdown: k8s.shutdown,
    endpointPropagationMs: k8s.endpointPropagationMs,
    readyMs: config.timeouts.readyMs,
    ...(k8s.terminationGracePeriodSeconds === undefined ? {} : { terminationGracePeriodSeconds: k8s.terminationGracePeriodSeconds }),
  });
  const template = podTemplate({
    service: name,
    version: release.version,
    image: release.image,
    port: k8s.port,
    env: config.release.env ?? {},
    secretEnv: config.release.secretEnv ?? [],
    ...(k8s.resources === undefined ? {} : { resources: k8s.resources }),
    timing,
    metricsPath: config.paths.metrics,
    metricsTokenFromSecret: config.metricsToken !== undefined,
  });
  const objects: RenderedObject[] = [];
  const notes: string[] = [];
  const add = (object: { kind: string; metadata?: { name?: string } ; validate(): void; toJSON(): unknown }, comments: string[]): void => {
    try {
      object.validate();
    } catch (error) {
      // What the config passes through as is (resources, trafficRouting) is checked here, against the official schemas.
      const why = error instanceof Error ? error.message : String(error);
      throw new BatonError('BATON_ERR_K8S_CONFIG', `The ${object.kind} ${object.metadata?.name ?? name} would not be valid: ${why.replaceAll('data/', '')}. Check what the kubernetes section passes through (resources, trafficRouting).`);
    }
    objects.push({ kind: object.kind, name: object.metadata?.name ?? name, body: object.toJSON() as Record<string, unknown>, comments });
  };
  const podComments = [...timing.notes];
  const strategy = config.strategy;
  const root = service({ service: name, name, namespace, port: k8s.port });

  if (strategy.type === 'rolling') {
    if ((strategy.analysisMs ?? 0) > 0) notes.push('strategy.analysisMs is not carried over: a Deployment has no analysis. Use a canary strategy (an Argo Rollouts Rollout) to judge releases on the cluster.');
    const workload = deployment({ service: name, name, namespace, replicas: config.instances, template, maxSurge: strategy.maxSurge ?? 1, maxUnavailable: strategy.maxUnavailable ?? 0 });
    add(workload, [`A rolling update, ${strategy.maxSurge ?? 1} extra pod(s) at a time, ${strategy.maxUnavailable ?? 0} missing at most: strategy ${JSON.stringify(strategy)}.`, ...podComments]);
    add(root, ['Clients reach the service here; a pod is in it only while its readiness passes.']);
  } else {
    const sides = (window: string): QuerySides => {
      const scope = [`${prometheusLabel(NAME_LABEL)}=${JSON.stringify(name)}`, ...(namespace === undefined ? [] : [`namespace=${JSON.stringify(namespace)}`])].join(',');
      const candidate = `${RELEASE_LABEL}=${JSON.stringify(release.version)}`;
      if (strategy.type === 'blue-green') return { scope, candidate, baseline: `${RELEASE_LABEL}!=${JSON.stringify(release.version)}`, baselineOffset: window };
      const fresh = strategy.baseline !== false;
      return { scope, candidate, baseline: `${RELEASE_LABEL}!=${JSON.stringify(release.version)},${prometheusLabel(ROLE_LABEL)}${fresh ? '=' : '!='}"baseline"` };
    };
    const templates = new Map<number, string>();
    const templateFor = (windowMs: number): string => {
      const templateName = `${name}-judge-${duration(windowMs)}`;
      templates.set(windowMs, templateName);
      return templateName;
    };
    let workloadComments: string[];
    let rollout;
    const services = [];
    if (strategy.type === 'canary') {
      const plan = planDeploy(strategy, config.instances, { hasStable: true });
      const steps = canarySteps(plan, templateFor, { trafficRouting: k8s.trafficRouting !== undefined });
      notes.push(...steps.notes);
      rollout = canaryRollout({ service: name, name, namespace, replicas: config.instances, template, steps: steps.steps, stableService: `${name}-stable`, canaryService: `${name}-canary`, ...(k8s.trafficRouting === undefined ? {} : { trafficRouting: k8s.trafficRouting }) });
      workloadComments = [`A canary, Baton's steps ${JSON.stringify(strategy.steps)}${strategy.baseline === false ? ', judged against the stable pods' : ', each analysis beside a fresh baseline of the stable release (an experiment)'}.`];
      services.push(
        { object: root, comments: ['Clients reach the service here: every ready pod of either release (and a baseline), in proportion to their count, unless kubernetes.trafficRouting routes by weight.'] },
        { object: service({ service: name, name: `${name}-stable`, namespace, port: k8s.port }), comments: ['Argo Rollouts narrows it to the stable pods.'] },
        { object: service({ service: name, name: `${name}-canary`, namespace, port: k8s.port }), comments: ['Argo Rollouts narrows it to the canary pods.'] },
      );
    } else {
      const analysisMs = strategy.analysisMs ?? 0;
      if (strategy.switch !== undefined) {
        notes.push(`strategy.switch (blue/green by DNS between two stacks) is not carried over: on the cluster the Rollout switches its active Service, and ${strategy.switch.name} keeps pointing at the cluster's own entry point. Switch between whole clusters with Baton's DNS switch outside them.`);
      }
      rollout = blueGreenRollout({
        service: name,
        name,
        namespace,
        replicas: config.instances,
        template,
        activeService: name,
        previewService: `${name}-preview`,
        rollbackWindowMs: strategy.rollbackWindowMs ?? 30_000,
        ...(analysisMs > 0 ? { postPromotionTemplate: templateFor(analysisMs) } : {}),
      });
      workloadComments = [`Blue/green: green starts behind ${name}-preview, ${name} switches to it once it is ready, blue stays up ${(strategy.rollbackWindowMs ?? 30_000) / 1000} s for a rollback${analysisMs > 0 ? '; after the switch, green is judged against what blue served before it' : ''}.`];
      services.push(
        { object: root, comments: ['Clients reach the service here: the active (blue, then green) pods.'] },
        { object: service({ service: name, name: `${name}-preview`, namespace, port: k8s.port }), comments: ['The new release before the switch, for checks of your own.'] },
      );
    }
    add(rollout, [...workloadComments, ...podComments]);
    for (const { object, comments } of services) add(object, comments);
    if (templates.size > 0) {
      if (k8s.prometheus === undefined) {
        throw new BatonError('BATON_ERR_K8S_CONFIG', 'The strategy has an analysis, which Argo Rollouts asks Prometheus for: set kubernetes.prometheus.address (the Prometheus that scrapes the pods), e.g. { address: \'http://prometheus.monitoring:9090\' }.');
      }
      for (const [windowMs, templateName] of [...templates].sort(([a], [b]) => a - b)) {
        const window: QueryWindow = { range: duration(windowMs), excludeRoutes: defaultExclude(config.paths.metrics) };
        const metrics = analysisMetrics(sides(duration(windowMs)), window, {
          method: config.analysis.method,
          thresholds: config.analysis,
          onInconclusive: config.analysis.onInconclusive,
          floorSeconds: 0.01,
        });
        add(analysisTemplate({ service: name, name: templateName, namespace, prometheus: k8s.prometheus.address, window: duration(windowMs), metrics }), [
          `Baton's analysis (analysis.method: ${config.analysis.method}) over ${duration(windowMs)} as Prometheus queries, the thresholds of the config's analysis section:`,
          ...metrics.map((metric) => `${metric.name}: ${metric.why}`),
        ]);
      }
      notes.push(
        `The analysis queries need Prometheus to scrape the pods (their prometheus.io/* annotations) and to copy their labels onto the series (a labelmap of __meta_kubernetes_pod_label_(.+), as Prometheus' example kubernetes-pods job does): ${prometheusLabel(NAME_LABEL)}, ${RELEASE_LABEL} and ${prometheusLabel(ROLE_LABEL)}${namespace === undefined ? '' : ', with the namespace as namespace'}.`,
      );
    }
  }
  add(disruptionBudget({ service: name, name, namespace }), ['A node drain takes one pod at a time, each through its full shutdown.']);
  if (config.metricsToken !== undefined) notes.push(`The metrics endpoint asks for a bearer token (BATON_METRICS_TOKEN, from the Secret ${name}-env): give Prometheus the same token for these pods.`);
  if ((config.release.secretEnv ?? []).length > 0 || config.metricsToken !== undefined) notes.push(`Secret values come from the Secret ${name}-env (one key per variable); it is not rendered: create it from your secret store.`);
  return { service: name, version: release.version, ...(config.environment === undefined ? {} : { environment: config.environment }), objects, notes };
}

/** A pod label as Prometheus' relabelling writes it: anything but letters, digits and `_` becomes `_`. */
export function prometheusLabel(label: string): string {
  return label.replace(/[^A-Za-z0-9_]/g, '_');
}

/** The judge's default `excludeRoutes`: the probes and the metrics path. */
function defaultExclude(metricsPath: string): string[] {
  return ['/livez', '/readyz', '/startupz', '/healthz', metricsPath];
}

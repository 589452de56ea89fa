import { describe, expect, it } from 'vitest';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { resolveDeployConfig, type DeployConfig, type ReleaseRecord } from '@baton/deploy';
import { releaseImage, renderManifests, toYamlFiles, toYamlStream, type RenderedManifests } from './index.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const IMAGE = `registry.example.com/orders@${DIGEST}`;

function render(overrides: Partial<DeployConfig> = {}, version = 'v2'): RenderedManifests {
  const config = resolveDeployConfig(
    {
      service: 'orders',
      release: { version, command: 'node', args: ['dist/main.js'], env: { LOG_LEVEL: 'info' }, secretEnv: ['DATABASE_URL'] },
      instances: 4,
      timeouts: { readyMs: 15_000 },
      strategy: { type: 'canary', steps: [{ setWeight: 25 }, { analysis: { durationMs: 60_000 } }, { setWeight: 50 }, { pause: { durationMs: 30_000 } }] },
      kubernetes: { namespace: 'shop', prometheus: { address: 'http://prometheus.monitoring:9090/' }, shutdown: { propagationDelayMs: 5000, drainTimeoutMs: 10_000 } },
      ...overrides,
    },
    { cwd: '/srv/orders' },
  );
  return renderManifests(config, { version, image: IMAGE });
}

function find(manifests: RenderedManifests, kind: string, name?: string): Record<string, any> {
  const object = manifests.objects.find((candidate) => candidate.kind === kind && (name === undefined || candidate.name === name));
  if (object === undefined) throw new Error(`no ${kind} ${name ?? ''} in ${manifests.objects.map((o) => `${o.kind}/${o.name}`).join(', ')}`);
  return object.body as Record<string, any>;
}

/** Every query of every AnalysisTemplate, parsed with Prometheus' own grammar: the error nodes it finds. */
function promqlErrors(manifests: RenderedManifests): { query: string; errors: number }[] {
  return manifests.objects
    .filter((object) => object.kind === 'AnalysisTemplate')
    .flatMap((object) => (object.body as any).spec.metrics.map((metric: any) => metric.provider.prometheus.query as string))
    .map((query) => {
      let errors = 0;
      parser.parse(query).iterate({ enter: (node) => void (node.type.isError && errors++) });
      return { query, errors };
    });
}

describe('a canary renders as an Argo Rollout judged by Prometheus', () => {
  const manifests = render();

  it('renders the Rollout, its Services, the AnalysisTemplate and a PodDisruptionBudget, all in the namespace', () => {
    expect(manifests.objects.map((object) => `${object.kind}/${object.name}`)).toEqual([
      'Rollout/orders',
      'Service/orders',
      'Service/orders-stable',
      'Service/orders-canary',
      'AnalysisTemplate/orders-judge-60s',
      'PodDisruptionBudget/orders',
    ]);
    for (const object of manifests.objects) expect((object.body as any).metadata.namespace).toBe('shop');
  });

  it('pins the image by digest, takes RELEASE from the release label and BATON_INSTANCE from the pod name, keeps secrets in a Secret', () => {
    const pod = find(manifests, 'Rollout').spec.template;
    expect(pod.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'orders', release: 'v2' });
    const container = pod.spec.containers[0];
    expect(container.image).toBe(IMAGE);
    const env = Object.fromEntries(container.env.map((variable: any) => [variable.name, variable.value ?? variable.valueFrom]));
    expect(env).toEqual({
      RELEASE: { fieldRef: { fieldPath: "metadata.labels['release']" } },
      BATON_INSTANCE: { fieldRef: { fieldPath: 'metadata.name' } },
      PORT: '8080',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      DATABASE_URL: { secretKeyRef: { name: 'orders-env', key: 'DATABASE_URL' } },
    });
  });

  it('probes /startupz, /readyz and /livez, readiness seen within the propagation delay, grace from the shutdown budget, no preStop', () => {
    const pod = find(manifests, 'Rollout').spec.template.spec;
    const container = pod.containers[0];
    expect(container.startupProbe).toMatchObject({ httpGet: { path: '/startupz', port: 'http' }, periodSeconds: 1, failureThreshold: 15 });
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/readyz' }, failureThreshold: 1 });
    expect((container.readinessProbe.periodSeconds + container.readinessProbe.timeoutSeconds) * 1000).toBeLessThanOrEqual(5000);
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/livez' } });
    // propagation 5000 + drain 10000 + hooks 5000 (default) + margin 1000.
    expect(pod.terminationGracePeriodSeconds).toBe(21);
    expect(container.lifecycle).toBeUndefined();
    const comments = manifests.objects[0]?.comments.join('\n');
    expect(comments).toContain('propagation 5000 + drain 10000 + hooks 5000 + safety margin 1000 = 21000 ms');
    expect(comments).toContain('No preStop sleep');
  });

  it("carries Baton's steps over, each analysis an experiment beside a fresh baseline of the stable release", () => {
    const canary = find(manifests, 'Rollout').spec.strategy.canary;
    expect(canary).toMatchObject({ stableService: 'orders-stable', canaryService: 'orders-canary', canaryMetadata: { labels: { 'baton-role': 'canary' } } });
    expect(canary.steps).toEqual([
      { setWeight: 25 },
      {
        experiment: {
          templates: [{ name: 'baseline', specRef: 'stable', replicas: 1, metadata: { labels: { 'baton-role': 'baseline' } } }],
          analyses: [{ name: 'judge', templateName: 'orders-judge-60s', requiredForCompletion: true }],
        },
      },
      { setWeight: 50 },
      { pause: { duration: '30s' } },
    ]);
  });

  it("asks Prometheus the judge's questions with the config's thresholds, each query valid PromQL", () => {
    const template = find(manifests, 'AnalysisTemplate');
    const metrics = template.spec.metrics;
    expect(metrics.map((metric: any) => metric.name)).toEqual([
      'candidate-requests',
      'error-rate',
      'error-rate-increase-by-route',
      'error-rate-increase-across-routes',
      'latency-p50-by-route',
      'latency-p90-by-route',
    ]);
    expect(metrics[0]).toMatchObject({ initialDelay: '60s', count: 1, successCondition: 'len(result) > 0 && result[0] >= 50', failureCondition: 'false' });
    expect(metrics[1].successCondition).toBe('all(result, {# <= 0.05})');
    expect(metrics[2].successCondition).toBe('all(result, {# <= 0.01})');
    expect(metrics[2].provider.prometheus).toMatchObject({ address: 'http://prometheus.monitoring:9090' });
    const query = metrics[2].provider.prometheus.query as string;
    expect(query).toContain('release="v2"');
    expect(query).toContain('release!="v2",baton_role="baseline"');
    expect(query).toContain('app_kubernetes_io_name="orders",namespace="shop"');
    expect(query).toContain('route!~"/livez|/readyz|/startupz|/healthz|/metrics"');
    expect(query).toContain('sum by (method, route)');
    for (const parsed of promqlErrors(manifests)) expect(parsed, parsed.query).toMatchObject({ errors: 0 });
  });

  it('writes YAML a cluster reads back to the same objects, with the arithmetic as comments', () => {
    const stream = toYamlStream(manifests);
    const documents = parseAllDocuments(stream).map((document) => document.toJS());
    expect(documents).toEqual(manifests.objects.map((object) => object.body));
    expect(stream).toContain('# Rendered by `baton k8s render`');
    const files = toYamlFiles(manifests);
    expect(files.map((file) => file.file)).toContain('rollout-orders.yaml');
    expect(parseYaml(files[0]?.text ?? '')).toEqual(manifests.objects[0]?.body);
  });
});

describe('other strategies and settings', () => {
  it('renders a rolling strategy as a plain Deployment, without analysis objects', () => {
    const manifests = render({ strategy: { type: 'rolling', maxSurge: 2, maxUnavailable: 1 }, kubernetes: {} });
    expect(manifests.objects.map((object) => `${object.kind}/${object.name}`)).toEqual(['Deployment/orders', 'Service/orders', 'PodDisruptionBudget/orders']);
    expect(find(manifests, 'Deployment').spec).toMatchObject({ replicas: 4, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 1 } } });
    // Baton's default budget: 5000 + 15000 + 5000 + 1000.
    expect(find(manifests, 'Deployment').spec.template.spec.terminationGracePeriodSeconds).toBe(26);
  });

  it('judges against the warm stable pods, with an inline analysis, when strategy.baseline is false', () => {
    const manifests = render({ strategy: { type: 'canary', baseline: false, steps: [{ setWeight: 25 }, { analysis: { durationMs: 90_000 } }] } });
    expect(find(manifests, 'Rollout').spec.strategy.canary.steps).toEqual([{ setWeight: 25 }, { analysis: { templates: [{ templateName: 'orders-judge-90s' }] } }]);
    expect(find(manifests, 'AnalysisTemplate').spec.metrics[2].provider.prometheus.query).toContain('release!="v2",baton_role!="baseline"');
  });

  it('renders blue/green with the analysis after the switch comparing green with what blue served before it', () => {
    const manifests = render({ strategy: { type: 'blue-green', analysisMs: 120_000, rollbackWindowMs: 300_000 }, analysis: { method: 'thresholds', latencyQuantile: 0.95 } });
    const blueGreen = find(manifests, 'Rollout').spec.strategy.blueGreen;
    expect(blueGreen).toMatchObject({ activeService: 'orders', previewService: 'orders-preview', scaleDownDelaySeconds: 300, postPromotionAnalysis: { templates: [{ templateName: 'orders-judge-120s' }] } });
    const metrics = find(manifests, 'AnalysisTemplate').spec.metrics;
    expect(metrics.map((metric: any) => metric.name)).toEqual(['candidate-requests', 'error-rate', 'error-rate-increase', 'latency-p95']);
    expect(metrics[2].provider.prometheus.query).toContain('[120s] offset 120s');
    for (const parsed of promqlErrors(manifests)) expect(parsed, parsed.query).toMatchObject({ errors: 0 });
  });

  it("renders a blue/green by DNS as the cluster's own blue/green, and says the DNS switch stays outside it", () => {
    const manifests = render({
      router: { port: 8080 },
      strategy: {
        type: 'blue-green',
        switch: { kind: 'dns', server: '10.0.0.53', zone: 'example.com', name: 'orders.example.com', key: { name: 'k', secretEnv: 'BATON_DNS_KEY' }, stacks: { blue: { address: '10.0.1.10' }, green: { address: '10.0.2.10' } } },
      },
    });
    expect(find(manifests, 'Rollout').spec.strategy.blueGreen).toMatchObject({ activeService: 'orders', previewService: 'orders-preview' });
    expect(manifests.notes.join('\n')).toContain('strategy.switch (blue/green by DNS between two stacks) is not carried over');
  });

  it("puts a preStop sleep in front only when the lifecycle's delay is shorter than the cluster's propagation, and says why", () => {
    const manifests = render({ kubernetes: { prometheus: { address: 'http://p:9090' }, shutdown: { propagationDelayMs: 1000 }, endpointPropagationMs: 4000 } });
    const pod = find(manifests, 'Rollout').spec.template.spec;
    expect(pod.containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 3 } } });
    // preStop 3000 + 1000 + 15000 + 5000 + 1000.
    expect(pod.terminationGracePeriodSeconds).toBe(25);
    expect(manifests.objects[0]?.comments.join('\n')).toContain('preStop sleeps 3 s: the lifecycle\'s propagation delay (1000 ms) is shorter than the 4000 ms');
  });

  it("tells the service to match a grace period longer than the lifecycle's default 30 s", () => {
    const manifests = render({ kubernetes: { prometheus: { address: 'http://p:9090' }, shutdown: { drainTimeoutMs: 40_000 } } });
    expect(find(manifests, 'Rollout').spec.template.spec.terminationGracePeriodSeconds).toBe(51);
    expect(manifests.objects[0]?.comments.join('\n')).toContain('give the service createLifecycle({ shutdown: { gracePeriodMs: 51000 } }) to match');
    expect(render().objects[0]?.comments.join('\n')).not.toContain('gracePeriodMs');
  });

  it('refuses a grace period the shutdown does not fit in, with the arithmetic', () => {
    expect(() => render({ kubernetes: { prometheus: { address: 'http://p:9090' }, terminationGracePeriodSeconds: 20 } })).toThrow(
      /needs propagation 5000 \+ drain 15000 \+ hooks 5000 \+ safety margin 1000 = 26000 ms, but terminationGracePeriodSeconds is 20 .*Raise kubernetes.terminationGracePeriodSeconds to 26/,
    );
  });

  it('refuses an analysis with nowhere to ask, and a bad kubernetes section with every problem named', () => {
    expect(() => render({ kubernetes: {} })).toThrow(/kubernetes.prometheus.address/);
    let caught: unknown;
    try {
      render({ kubernetes: { namespace: 'Shop!', port: 0, shutdown: { drainMs: 5 }, prometheus: 'x', extra: 1 } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'BATON_ERR_K8S_CONFIG' });
    const message = String((caught as Error).message);
    for (const field of ['kubernetes.extra', 'kubernetes.namespace', 'kubernetes.port', 'kubernetes.shutdown.drainMs', 'kubernetes.prometheus']) expect(message).toContain(field);
  });

  it('checks what the kubernetes section passes through against the official schemas', () => {
    const withResources = { prometheus: { address: 'http://p:9090' }, resources: { requests: { cpu: 'lots of' } } };
    expect(() => render({ kubernetes: withResources })).toThrow(/Rollout orders would not be valid: .*resources\/requests\/cpu must match format "quantity"/);
    expect(() => render({ kubernetes: { prometheus: { address: 'http://p:9090' }, trafficRouting: { nginx: 5 } } })).toThrow(/trafficRouting\/nginx must be object/);
    const routed = render({ kubernetes: { prometheus: { address: 'http://p:9090' }, trafficRouting: { nginx: { stableIngress: 'orders' } } } });
    const canary = find(routed, 'Rollout').spec.strategy.canary;
    expect(canary.trafficRouting).toEqual({ nginx: { stableIngress: 'orders' } });
    // With traffic routing the baseline gets the canary's weight, not its share of pods.
    expect(canary.steps[1].experiment.templates[0].weight).toBe(25);
  });

  it('takes the image from a release record only when a registry can serve it by digest', () => {
    const record = (artifact: ReleaseRecord['artifact']): ReleaseRecord => ({ version: 'v2', configDigest: DIGEST, configFingerprints: {}, createdAtMs: 0, createdBy: { user: 'u', host: 'h' }, ...(artifact === undefined ? {} : { artifact }) });
    expect(releaseImage('v2', { record: record({ kind: 'image', digest: DIGEST, source: 'orders:v2', location: IMAGE }) })).toEqual({ version: 'v2', image: IMAGE });
    expect(() => releaseImage('v2', { record: record({ kind: 'image', digest: DIGEST, source: 'orders:v2', location: DIGEST }) })).toThrow(/known only by its local id .*docker push/);
    expect(() => releaseImage('v2', { record: record({ kind: 'bundle', digest: DIGEST, source: '.', location: '/x' }) })).toThrow(/a bundle, not a container image/);
    expect(() => releaseImage('v2', {})).toThrow(/no release v2 in the registry/);
    expect(() => releaseImage('v2', { image: 'registry.example.com/orders:v2' })).toThrow(/pinned by digest/);
  });
});

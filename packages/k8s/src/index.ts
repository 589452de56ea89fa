export { renderManifests, releaseImage, prometheusLabel, type RenderedManifests, type RenderedObject, type RenderRelease } from './render.js';
export { toYamlStream, toYamlFiles } from './manifests-yaml.js';
export { resolveKubernetesOptions, type KubernetesOptions, type ResolvedKubernetesOptions } from './kubernetes-options.js';
export { podTiming, STARTUP_PATH, type PodTiming, type PodTimingInput } from './pod-timing.js';
export { analysisMetrics, type AnalysisMetric, type JudgeSettings } from './analysis-template.js';
export * as queries from './analysis-queries.js';
export { canarySteps, duration } from './rollout.js';
export { NAME_LABEL, RELEASE_LABEL, ROLE_LABEL } from './workloads.js';

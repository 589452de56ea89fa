/** One server setup measured by the throughput benchmark. */
export interface ThroughputVariant {
  /** Stable id, also the file name under `servers/`. */
  id: string;
  framework: 'express' | 'fastify';
  /** What a reader sees in the table. */
  label: string;
  /** The variant the ratios of this framework are taken against. */
  baseline: boolean;
  /** Paths that must answer 200 before measuring (proves the setup is wired). */
  probes: readonly string[];
}

/** Every variant, baselines first. */
export const THROUGHPUT_VARIANTS: readonly ThroughputVariant[] = [
  { id: 'express-bare', framework: 'express', label: 'Express (bare)', baseline: true, probes: [] },
  { id: 'express-baton', framework: 'express', label: 'Express + Baton', baseline: false, probes: ['/readyz', '/livez'] },
  { id: 'express-terminus', framework: 'express', label: 'Express + terminus', baseline: false, probes: ['/healthz'] },
  { id: 'express-lightship', framework: 'express', label: 'Express + lightship', baseline: false, probes: [] },
  { id: 'express-baton-metrics', framework: 'express', label: 'Express + Baton + metrics', baseline: false, probes: ['/readyz', '/livez', '/metrics'] },
  { id: 'express-prom-bundle', framework: 'express', label: 'Express + express-prom-bundle', baseline: false, probes: ['/metrics'] },
  { id: 'fastify-bare', framework: 'fastify', label: 'Fastify (bare)', baseline: true, probes: [] },
  { id: 'fastify-baton', framework: 'fastify', label: 'Fastify + Baton', baseline: false, probes: ['/readyz', '/livez'] },
  { id: 'fastify-baton-metrics', framework: 'fastify', label: 'Fastify + Baton + metrics', baseline: false, probes: ['/readyz', '/livez', '/metrics'] },
  { id: 'fastify-metrics', framework: 'fastify', label: 'Fastify + fastify-metrics', baseline: false, probes: ['/metrics'] },
];

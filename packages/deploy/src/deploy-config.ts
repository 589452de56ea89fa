import { join, resolve } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import { DEFAULT_INSTANCE_PATHS, type AnalysisThresholds, type BundleSpec, type InstancePaths, type ReleaseSpec } from './model.js';
import { mergeEnvironment, readEnvironments } from './environments/environment-config.js';
import { resolveGates, type GatesConfig, type ResolvedGates } from './gates/gates-config.js';
import { PROVIDER_KIND_PATTERN } from './provider-lookup.js';
import type { StrategyPreset } from './strategies/presets.js';
import { resolveStrategy } from './strategies/strategy-config.js';
import { describe, fraction, integer, isObject, positive, unknownKeys } from './internal/config-values.js';
import type { Strategy } from './strategies/plan.js';

/** How analysis judges a candidate (see `DeployConfig['analysis']`). */
export type AnalysisMethod = 'statistics' | 'thresholds';

/** What to do when analysis cannot decide (too little traffic, scrapes failing) after its retries. */
export type InconclusivePolicy = 'pause' | 'fail' | 'continue';

/** A deploy as a user writes it (`baton.config.ts` / `.json`); see {@link resolveDeployConfig} for defaults. */
export interface DeployConfig {
  /** The service's name: the state directory and the report carry it. */
  service: string;
  /** The release to deploy. */
  release: ReleaseSpec;
  /** Instances of each release at rest; default 3. */
  instances?: number;
  /** How a release replaces the last one: a strategy, or a platform policy's preset (`{ preset: 'eb:rolling-with-additional-batch', batchSize: 2 }`). */
  strategy?: Strategy | StrategyPreset;
  router?: {
    /**
     * Which router: `builtin` (the embedded default, `@baton/router-builtin`),
     * `haproxy` (`@baton/router-haproxy`), `nginx` (`@baton/router-nginx`), or
     * another router package's kind. `auto` (default): HAProxy when its
     * package is installed and `haproxy` runs here, the built-in router otherwise.
     */
    kind?: 'auto' | 'builtin' | 'haproxy' | 'nginx' | (string & {});
    /** The package of `kind`, when it is not `@baton/router-<kind>`. */
    package?: string;
    port?: number;
    /**
     * What public clients may reach besides the service. Default
     * `{ metrics: false, probeDetails: false }`: the router answers 404 for
     * `paths.metrics` and for probes asked for details (`/healthz?verbose`).
     * The orchestrator reads instances directly and needs neither.
     */
    expose?: { metrics?: boolean; probeDetails?: boolean };
    /**
     * Limits on public clients. `maxConnections` (default 2048): the
     * built-in router answers 503 + Retry-After past it, HAProxy stops
     * accepting. `headersTimeoutMs` (10 s): 408 for headers slower than it
     * (HAProxy: with the body). `bodyTimeoutMs` (30 s): 408 after that much
     * silence mid-body (HAProxy: `timeout client`). `keepAliveTimeoutMs`
     * (30 s): idle keep-alive connections close. `minBodyBytesPerSecond`
     * (1024, 0 for none) over each `bodyRateWindowMs` (10 s) of reading: the
     * built-in router answers 408 to a client sending its body slower
     * (HAProxy has no such limit; its body timeout is `timeout client`).
     */
    limits?: { maxConnections?: number; headersTimeoutMs?: number; bodyTimeoutMs?: number; keepAliveTimeoutMs?: number; minBodyBytesPerSecond?: number; bodyRateWindowMs?: number };
    /** Keep the client's `X-Forwarded-*`/`Forwarded` claims (a TLS terminator in front sets them); default false. */
    trustForwarded?: boolean;
  };
  analysis?: Partial<AnalysisThresholds> & {
    /**
     * `statistics` (default): route by route against the baseline, with
     * tests, the thresholds as margins. `thresholds`: the whole release
     * against fixed limits (the judge before; Argo Rollouts' and Flagger's way).
     */
    method?: AnalysisMethod;
    /** Extra windows tried while the verdict is inconclusive before `onInconclusive` applies; default 2. */
    inconclusiveRetries?: number;
    onInconclusive?: InconclusivePolicy;
  };
  timeouts?: {
    /** From start to a passing readiness probe; default 30 s. */
    readyMs?: number;
    /** From drain to zero requests in flight at the router and the instance; default 30 s. */
    drainMs?: number;
    /** From SIGTERM to exit, before SIGKILL; default 30 s. */
    stopMs?: number;
  };
  paths?: Partial<InstancePaths>;
  /**
   * How instances are run (local processes). `port`: how an instance's port
   * is learnt. `'announce'` (default): it gets `PORT=0` and prints
   * `{"event":"listening","port":N}` once it listens, as a service served
   * through Baton (`serve()`, `baton(app).serve()`, `serveFastify()`) does.
   * `'assign'`: for any other service — the platform picks a free port,
   * passes it in `PORT` and waits until it accepts connections (another
   * process could take the port in between; the start then fails and is
   * retried by the next deploy). `listenTimeoutMs`: from spawn to a known
   * port; default `timeouts.readyMs`.
   *
   * @example
   * platform: { port: 'assign' } // an Express app doing app.listen(process.env.PORT)
   */
  platform?: {
    /** Which platform: `local` (default, `@baton/platform-local`: processes on this machine), or another platform package's kind. */
    kind?: 'local' | (string & {});
    /** The package of `kind`, when it is not `@baton/platform-<kind>`. */
    package?: string;
    port?: 'announce' | 'assign';
    listenTimeoutMs?: number;
    /**
     * Any other key is the platform's own setting (e.g. `hosts` of
     * `@baton/platform-docker`), checked by the platform package; the local
     * platform has none.
     */
    [setting: string]: unknown;
  };
  /** Where state, journal, logs and reports live; default `.baton/<service>` under the working directory. */
  stateDir?: string;
  /** Bearer token of the instances' /metrics (a service run with `BATON_METRICS_TOKEN`); e.g. `process.env.METRICS_TOKEN` in a TypeScript config. */
  metricsToken?: string;
  /** What must hold before a release moves traffic (in every environment; each may override): see {@link GatesConfig}. */
  gates?: GatesConfig;
  /**
   * Where the service runs, by name — e.g. `staging` and `production` — each
   * with its own settings over the ones above (instances, strategy, router,
   * platform, analysis, timeouts, the release's `env`, gates), its own
   * state, router, instances and history (`<stateDir>/env/<name>`). Commands
   * then take `--env <name>`.
   *
   * @example
   * environments: {
   *   staging: { instances: 1, router: { port: 8081 }, release: { env: { DATABASE_URL: 'postgres://staging-db/orders' } } },
   *   production: { instances: 4, router: { port: 8080 }, strategy: { type: 'canary', steps: [...] }, gates: { soak: { durationMs: 1_800_000 }, approval: true } },
   * }
   */
  environments?: Record<string, EnvironmentConfig>;
  /**
   * What only a Kubernetes cluster needs (namespace, Prometheus, resources, the
   * service's shutdown budget): read by `baton k8s render` (`@baton/k8s`),
   * which checks it; `baton deploy` does not use it.
   */
  kubernetes?: { [setting: string]: unknown };
  /** The order a release goes through the environments (`baton promote v2 --to production` takes it from the one before); default the order they are declared in. */
  pipeline?: string[];
}

/** An environment's settings over the service's (see {@link DeployConfig.environments}). */
export interface EnvironmentConfig {
  instances?: number;
  strategy?: Strategy | StrategyPreset;
  router?: DeployConfig['router'];
  analysis?: DeployConfig['analysis'];
  timeouts?: DeployConfig['timeouts'];
  paths?: DeployConfig['paths'];
  platform?: DeployConfig['platform'];
  metricsToken?: string;
  /** The environment's variables for the release (merged over the service's `release.env`), and which are secret. */
  release?: Pick<ReleaseSpec, 'env' | 'secretEnv'>;
  gates?: GatesConfig;
  /** Merged over the service's `kubernetes` section, key by key. */
  kubernetes?: { [setting: string]: unknown };
}

/** A {@link DeployConfig} with every default filled in and every field checked. */
export interface ResolvedDeployConfig {
  service: string;
  release: ReleaseSpec;
  instances: number;
  strategy: Strategy;
  router: ResolvedRouterConfig;
  analysis: AnalysisThresholds & { method: AnalysisMethod; inconclusiveRetries: number; onInconclusive: InconclusivePolicy };
  timeouts: { readyMs: number; drainMs: number; stopMs: number };
  paths: InstancePaths;
  platform: { kind: string; package?: string; port: 'announce' | 'assign'; listenTimeoutMs: number; options: Readonly<Record<string, unknown>> };
  /** Where this config's state lives: the journal, router, instances, reports, logs and history (`<service dir>/env/<name>` for an environment). */
  stateDir: string;
  /** The service's own directory, shared by its environments: releases, artifacts, approvals. The same as `stateDir` without environments. */
  serviceDir: string;
  /** The environment this config deploys to; undefined without environments (or for the service as a whole). */
  environment?: string;
  /** Every environment the config declares ([] without any). */
  environments: string[];
  /** The pipeline, first to last ([] without environments). */
  pipeline: string[];
  /** The environment before this one in the pipeline, which releases are promoted from. */
  previousEnvironment?: string;
  /** The gates a release must pass before it moves traffic here. */
  gates: ResolvedGates;
  metricsToken?: string;
  /** The `kubernetes` section as written (checked by `@baton/k8s`, which alone reads it); {} without one. */
  kubernetes: Readonly<Record<string, unknown>>;
  /** Where router and platform packages are looked up: the config's directory, then those the caller added (the CLI's own). */
  lookupFrom: string[];
}

/** The router section with its defaults. */
export interface ResolvedRouterConfig {
  /** `auto`, or a router package's kind. */
  kind: string;
  package?: string;
  port?: number;
  expose: { metrics: boolean; probeDetails: boolean };
  limits: { maxConnections: number; headersTimeoutMs: number; bodyTimeoutMs: number; keepAliveTimeoutMs: number; minBodyBytesPerSecond: number; bodyRateWindowMs: number };
  trustForwarded: boolean;
}

export const DEFAULT_THRESHOLDS: AnalysisThresholds = {
  maxErrorRateIncrease: 0.01,
  maxErrorRate: 0.05,
  maxLatencyRatio: 1.5,
  minLatencyIncreaseMs: 50,
  latencyQuantile: 0.99,
  minRequests: 50,
  confidence: 0.95,
  minRouteRequests: 50,
};

/**
 * Checks a deploy configuration and fills in its defaults. Every problem is
 * collected and reported at once in a `BATON_ERR_DEPLOY_CONFIG`, each naming
 * its field, so a bad config fails before anything starts or moves.
 */
export function resolveDeployConfig(input: unknown, options: ResolveOptions): ResolvedDeployConfig {
  if (isObject(input) && (input['environments'] !== undefined || input['pipeline'] !== undefined)) return resolveEnvironment(input, options);
  if (options.environment !== undefined) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `There is no environment "${options.environment}": the config declares no environments. Declare them (environments: { staging: {...}, production: {...} }) or leave --env out.`);
  }
  const problems: string[] = [];
  const resolved = resolveOne(input, options, problems);
  if (resolved === undefined || problems.length > 0) throw invalidConfig(problems);
  return resolved;
}

/** Options of {@link resolveDeployConfig}. */
export interface ResolveOptions {
  /** The config's directory: relative paths in it start here. */
  cwd: string;
  /** Where router and platform packages are looked up after `cwd` (the CLI adds its own directory). */
  lookupFrom?: readonly string[];
  /**
   * The environment to resolve, of a config that declares `environments`:
   * the service's settings with the environment's over them, its state in
   * `<stateDir>/env/<environment>`. Without it such a config resolves to the
   * service's settings alone (`environment` undefined): enough for what
   * concerns the whole service (`baton releases`), not for a deploy.
   */
  environment?: string;
}

function invalidConfig(problems: readonly string[]): BatonError {
  return new BatonError('BATON_ERR_DEPLOY_CONFIG', `The deploy config is invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
}

/**
 * A config with environments: every environment is resolved (a mistake in
 * production's section fails a deploy to staging too, before anything
 * moves), and the one asked for is returned.
 */
function resolveEnvironment(input: Record<string, unknown>, options: ResolveOptions): ResolvedDeployConfig {
  const problems: string[] = [];
  const { environments, pipeline } = readEnvironments(input, problems);
  const base = { ...input };
  delete base['environments'];
  delete base['pipeline'];
  const baseProblems: string[] = [];
  const service = resolveOne(base, options, baseProblems);
  problems.push(...baseProblems);
  const names = [...environments.keys()];
  const resolved = new Map<string, ResolvedDeployConfig>();
  for (const [name, own] of environments) {
    const envProblems: string[] = [];
    const config = resolveOne(mergeEnvironment(input, own), options, envProblems);
    // What is wrong in the service's settings is said once, not once per environment.
    problems.push(...envProblems.filter((problem) => !baseProblems.includes(problem)).map((problem) => `environments.${name}: ${problem}`));
    if (config === undefined || service === undefined) continue;
    const index = pipeline.indexOf(name);
    const previous = index > 0 ? pipeline[index - 1] : undefined;
    resolved.set(name, {
      ...config,
      environment: name,
      environments: names,
      pipeline,
      ...(previous === undefined ? {} : { previousEnvironment: previous }),
      serviceDir: service.stateDir,
      stateDir: join(service.stateDir, 'env', name),
    });
  }
  if (problems.length > 0 || service === undefined) throw invalidConfig(problems);
  if (options.environment === undefined) return { ...service, environments: names, pipeline };
  const chosen = resolved.get(options.environment);
  if (chosen === undefined) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `There is no environment "${options.environment}": the config declares ${names.join(', ')}.`);
  }
  return chosen;
}

/** Resolves a config without environments (or one environment's merged config); its problems go to `problems`. */
function resolveOne(input: unknown, options: ResolveOptions, problems: string[]): ResolvedDeployConfig | undefined {
  const config = (isObject(input) ? input : {}) as Partial<DeployConfig>;
  if (!isObject(input)) problems.push(`the config must be an object; got ${describe(input)}`);

  const service = typeof config.service === 'string' ? config.service.trim() : '';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(service)) problems.push(`service: a name of letters, digits, ".", "_" or "-" (at most 63); got ${describe(config.service)}`);

  if (isObject(input)) unknownKeys(input, ['service', 'release', 'instances', 'strategy', 'router', 'analysis', 'timeouts', 'paths', 'platform', 'stateDir', 'metricsToken', 'gates', 'kubernetes', 'environments', 'pipeline'], '', problems);
  for (const section of ['router', 'analysis', 'timeouts', 'paths', 'platform', 'kubernetes'] as const) {
    if (config[section] !== undefined && !isObject(config[section])) problems.push(`${section}: an object; got ${describe(config[section])}`);
  }
  const release = resolveRelease(config.release, options.cwd, problems);
  const instances = integer(config.instances, 'instances', 3, 1, 64, problems);
  const strategy = resolveStrategy(config.strategy, instances, problems);
  if (strategy?.type === 'rolling' && (strategy.maxUnavailable ?? 0) >= instances) {
    problems.push(`strategy.maxUnavailable: fewer than instances (${instances}), or nothing would serve while the first batch starts; got ${strategy.maxUnavailable}`);
  }

  const routerInput = isObject(config.router) ? config.router : {};
  unknownKeys(routerInput, ['kind', 'package', 'port', 'expose', 'limits', 'trustForwarded'], 'router.', problems);
  const kind = providerKind(routerInput.kind, 'auto', 'router.kind', 'auto, builtin, haproxy, nginx or another router package\'s kind', problems);
  const routerPackage = packageName(routerInput.package, 'router.package', problems);
  const port = routerInput.port === undefined ? undefined : integer(routerInput.port, 'router.port', 0, 0, 65535, problems);
  if (strategy?.type === 'blue-green' && strategy.switch !== undefined && (port === undefined || port === 0)) {
    problems.push('router.port: blue/green by DNS needs a fixed port, the same on both stacks (a DNS record carries an address, not a port)');
  }
  const exposeInput: Record<string, unknown> = isObject(routerInput.expose) ? routerInput.expose : {};
  if (routerInput.expose !== undefined && !isObject(routerInput.expose)) problems.push(`router.expose: an object { metrics?, probeDetails? }; got ${describe(routerInput.expose)}`);
  unknownKeys(exposeInput, ['metrics', 'probeDetails'], 'router.expose.', problems);
  const flag = (value: unknown, field: string): boolean => {
    if (value !== undefined && typeof value !== 'boolean') problems.push(`${field}: true or false; got ${describe(value)}`);
    return value === true;
  };
  const limitsInput: Record<string, unknown> = isObject(routerInput.limits) ? routerInput.limits : {};
  if (routerInput.limits !== undefined && !isObject(routerInput.limits)) problems.push(`router.limits: an object { maxConnections?, headersTimeoutMs?, bodyTimeoutMs?, keepAliveTimeoutMs?, minBodyBytesPerSecond?, bodyRateWindowMs? }; got ${describe(routerInput.limits)}`);
  unknownKeys(limitsInput, ['maxConnections', 'headersTimeoutMs', 'bodyTimeoutMs', 'keepAliveTimeoutMs', 'minBodyBytesPerSecond', 'bodyRateWindowMs'], 'router.limits.', problems);
  const router: ResolvedRouterConfig = {
    kind,
    expose: { metrics: flag(exposeInput.metrics, 'router.expose.metrics'), probeDetails: flag(exposeInput.probeDetails, 'router.expose.probeDetails') },
    limits: {
      maxConnections: integer(limitsInput.maxConnections, 'router.limits.maxConnections', 2048, 1, 1_000_000, problems),
      headersTimeoutMs: integer(limitsInput.headersTimeoutMs, 'router.limits.headersTimeoutMs', 10_000, 100, 3_600_000, problems),
      bodyTimeoutMs: integer(limitsInput.bodyTimeoutMs, 'router.limits.bodyTimeoutMs', 30_000, 100, 3_600_000, problems),
      keepAliveTimeoutMs: integer(limitsInput.keepAliveTimeoutMs, 'router.limits.keepAliveTimeoutMs', 30_000, 1, 3_600_000, problems),
      minBodyBytesPerSecond: integer(limitsInput.minBodyBytesPerSecond, 'router.limits.minBodyBytesPerSecond', 1024, 0, 1_000_000_000, problems),
      bodyRateWindowMs: integer(limitsInput.bodyRateWindowMs, 'router.limits.bodyRateWindowMs', 10_000, 100, 3_600_000, problems),
    },
    trustForwarded: flag(routerInput.trustForwarded, 'router.trustForwarded'),
  };
  if (port !== undefined) router.port = port;
  if (routerPackage !== undefined) router.package = routerPackage;

  const analysisInput = isObject(config.analysis) ? config.analysis : {};
  unknownKeys(analysisInput, [...Object.keys(DEFAULT_THRESHOLDS), 'method', 'inconclusiveRetries', 'onInconclusive'], 'analysis.', problems);
  const analysis = {
    method: analysisInput.method ?? 'statistics',
    maxErrorRateIncrease: fraction(analysisInput.maxErrorRateIncrease, 'analysis.maxErrorRateIncrease', DEFAULT_THRESHOLDS.maxErrorRateIncrease, problems),
    maxErrorRate: fraction(analysisInput.maxErrorRate, 'analysis.maxErrorRate', DEFAULT_THRESHOLDS.maxErrorRate, problems),
    maxLatencyRatio: positive(analysisInput.maxLatencyRatio, 'analysis.maxLatencyRatio', DEFAULT_THRESHOLDS.maxLatencyRatio, problems),
    minLatencyIncreaseMs: integer(analysisInput.minLatencyIncreaseMs, 'analysis.minLatencyIncreaseMs', DEFAULT_THRESHOLDS.minLatencyIncreaseMs, 0, 600_000, problems),
    latencyQuantile: fraction(analysisInput.latencyQuantile, 'analysis.latencyQuantile', DEFAULT_THRESHOLDS.latencyQuantile, problems),
    minRequests: integer(analysisInput.minRequests, 'analysis.minRequests', DEFAULT_THRESHOLDS.minRequests, 1, 1e9, problems),
    confidence: fraction(analysisInput.confidence, 'analysis.confidence', DEFAULT_THRESHOLDS.confidence, problems),
    minRouteRequests: integer(analysisInput.minRouteRequests, 'analysis.minRouteRequests', DEFAULT_THRESHOLDS.minRouteRequests, 1, 1e9, problems),
    inconclusiveRetries: integer(analysisInput.inconclusiveRetries, 'analysis.inconclusiveRetries', 2, 0, 100, problems),
    onInconclusive: analysisInput.onInconclusive ?? 'pause',
  };
  if (!['statistics', 'thresholds'].includes(analysis.method)) problems.push(`analysis.method: statistics (per route, with tests; the default) or thresholds (the whole release against fixed limits); got ${describe(analysis.method)}`);
  if (analysis.confidence < 0.5 || analysis.confidence >= 1) problems.push(`analysis.confidence: a probability from 0.5 to below 1 (0.95 = 95%); got ${describe(analysis.confidence)}`);
  if (!['pause', 'fail', 'continue'].includes(analysis.onInconclusive)) problems.push(`analysis.onInconclusive: one of pause, fail, continue; got ${describe(analysis.onInconclusive)}`);

  const timeoutsInput = isObject(config.timeouts) ? config.timeouts : {};
  unknownKeys(timeoutsInput, ['readyMs', 'drainMs', 'stopMs'], 'timeouts.', problems);
  const timeouts = {
    readyMs: integer(timeoutsInput.readyMs, 'timeouts.readyMs', 30_000, 100, 3_600_000, problems),
    drainMs: integer(timeoutsInput.drainMs, 'timeouts.drainMs', 30_000, 0, 3_600_000, problems),
    stopMs: integer(timeoutsInput.stopMs, 'timeouts.stopMs', 30_000, 100, 3_600_000, problems),
  };

  const pathsInput = isObject(config.paths) ? config.paths : {};
  unknownKeys(pathsInput, Object.keys(DEFAULT_INSTANCE_PATHS), 'paths.', problems);
  const paths = { ...DEFAULT_INSTANCE_PATHS };
  for (const key of Object.keys(DEFAULT_INSTANCE_PATHS) as (keyof InstancePaths)[]) {
    const value = pathsInput[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !value.startsWith('/')) problems.push(`paths.${key}: a path starting with "/"; got ${describe(value)}`);
    else paths[key] = value;
  }

  const platformInput: Record<string, unknown> = isObject(config.platform) ? config.platform : {};
  const commonPlatformKeys = ['kind', 'package', 'port', 'listenTimeoutMs'];
  const platformKind = providerKind(platformInput.kind, 'local', 'platform.kind', 'local or another platform package\'s kind', problems);
  // The local platform has no settings of its own; another platform's are checked by its package.
  if (platformKind === 'local') unknownKeys(platformInput, commonPlatformKeys, 'platform.', problems);
  const platformOptions = Object.fromEntries(Object.entries(platformInput).filter(([key]) => !commonPlatformKeys.includes(key)));
  const platformPackage = packageName(platformInput.package, 'platform.package', problems);
  const platformPort = platformInput.port ?? 'announce';
  if (platformPort !== 'announce' && platformPort !== 'assign') {
    problems.push(
      `platform.port: 'announce' (the instance prints {"event":"listening","port":N}, as services served through Baton do) or 'assign' (any other service: it gets a free port in PORT); got ${describe(platformPort)}`,
    );
  }
  const platform: ResolvedDeployConfig['platform'] = {
    kind: platformKind,
    ...(platformPackage === undefined ? {} : { package: platformPackage }),
    port: platformPort === 'assign' ? ('assign' as const) : ('announce' as const),
    listenTimeoutMs: integer(platformInput.listenTimeoutMs, 'platform.listenTimeoutMs', timeouts.readyMs, 100, 3_600_000, problems),
    options: platformOptions,
  };
  if (release?.image !== undefined && platformKind === 'local') {
    problems.push(`release.image: the local platform runs commands, not images; set platform.kind to 'docker' (npm install --save-dev @baton/platform-docker) or give release.command`);
  }

  if (config.stateDir !== undefined && (typeof config.stateDir !== 'string' || config.stateDir.trim() === '')) problems.push(`stateDir: a directory path; got ${describe(config.stateDir)}`);
  const stateDir = typeof config.stateDir === 'string' && config.stateDir.trim() !== '' ? resolvePath(options.cwd, config.stateDir) : resolvePath(options.cwd, `.baton/${service || 'service'}`);

  if (config.metricsToken !== undefined && (typeof config.metricsToken !== 'string' || config.metricsToken === '' || /\s/.test(config.metricsToken))) {
    problems.push('metricsToken: a non-empty string without spaces');
  }
  const gates = resolveGates(config.gates, 'gates', problems);
  if (problems.length > 0) return undefined;
  const resolved: ResolvedDeployConfig = {
    service,
    release: release as ReleaseSpec,
    instances,
    strategy: strategy as Strategy,
    router,
    analysis,
    timeouts,
    paths,
    platform,
    stateDir,
    serviceDir: stateDir,
    environments: [],
    pipeline: [],
    gates,
    kubernetes: isObject(config.kubernetes) ? { ...config.kubernetes } : {},
    lookupFrom: [...new Set([resolve(options.cwd), ...(options.lookupFrom ?? [])])],
  };
  if (typeof config.metricsToken === 'string') resolved.metricsToken = config.metricsToken;
  return resolved;
}

/** A provider kind names a package (`@baton/router-<kind>`), so it is held to what a package name allows. */
function providerKind(value: unknown, fallback: string, field: string, accepted: string, problems: string[]): string {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && PROVIDER_KIND_PATTERN.test(value)) return value;
  problems.push(`${field}: ${accepted} (lower-case letters, digits and dashes); got ${describe(value)}`);
  return fallback;
}

function packageName(value: unknown, field: string, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && /^(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/.test(value)) return value;
  problems.push(`${field}: an npm package name like @acme/baton-router-envoy; got ${describe(value)}`);
  return undefined;
}

function resolveRelease(input: unknown, cwd: string, problems: string[]): ReleaseSpec | undefined {
  if (!isObject(input)) {
    problems.push(`release: an object like { version: 'v2', command: 'node', args: ['dist/main.js'] }; got ${describe(input)}`);
    return undefined;
  }
  const release = input as Partial<ReleaseSpec>;
  if (typeof release.version !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._+-]{0,62}$/.test(release.version)) {
    problems.push(`release.version: a label of letters, digits, ".", "_", "+" or "-", e.g. "v2" or "1.4.0"; got ${describe(release.version)}`);
  }
  const hasImage = release.image !== undefined;
  if (hasImage && (typeof release.image !== 'string' || !IMAGE_REFERENCE.test(release.image))) {
    problems.push(`release.image: an image reference like "orders:v2", "registry.example.com/orders:v2" or "orders@sha256:<64 hex>"; got ${describe(release.image)}`);
  }
  if (release.command !== undefined || !hasImage) {
    if (typeof release.command !== 'string' || release.command.trim() === '') problems.push(`release.command: the executable to run, e.g. "node" (or release.image, for a container platform); got ${describe(release.command)}`);
  }
  if (release.bundle !== undefined) {
    const bundle = release.bundle as unknown;
    if (hasImage) problems.push('release.bundle: a bundle is what the local platform runs; an image release is its own artifact');
    else if (!isObject(bundle)) problems.push(`release.bundle: an object { include: ['dist', 'package.json', 'pnpm-lock.yaml', 'node_modules'], root? }; got ${describe(bundle)}`);
    else {
      unknownKeys(bundle, ['include', 'root'], 'release.bundle.', problems);
      const include = bundle.include;
      if (!Array.isArray(include) || include.length === 0 || !include.every((entry) => typeof entry === 'string' && entry !== '' && !entry.startsWith('/') && !entry.split(/[\\/]/).includes('..'))) {
        problems.push(`release.bundle.include: a non-empty array of paths relative to the service directory (no "..", not absolute), e.g. ['dist', 'package.json', 'pnpm-lock.yaml', 'node_modules']; got ${describe(include)}`);
      }
      if (bundle.root !== undefined && (typeof bundle.root !== 'string' || bundle.root === '')) problems.push(`release.bundle.root: a directory path; got ${describe(bundle.root)}`);
    }
  }
  if (release.artifact !== undefined) problems.push('release.artifact: set by Baton when the release is created (baton release create), not in a config');
  if (release.args !== undefined && (!Array.isArray(release.args) || !release.args.every((arg) => typeof arg === 'string'))) problems.push(`release.args: an array of strings; got ${describe(release.args)}`);
  if (release.env !== undefined && (!isObject(release.env) || !Object.values(release.env).every((value) => typeof value === 'string'))) problems.push('release.env: an object of string values');
  if (release.cwd !== undefined && typeof release.cwd !== 'string') problems.push(`release.cwd: a directory path; got ${describe(release.cwd)}`);
  const secretEnv = release.secretEnv;
  // Names only in messages: a value here would be the very secret this option protects.
  if (secretEnv !== undefined && (!Array.isArray(secretEnv) || !secretEnv.every((name) => typeof name === 'string' && ENV_NAME.test(name)))) {
    problems.push('release.secretEnv: an array of environment variable names (letters, digits and "_", not starting with a digit), e.g. ["MY_VAR"]');
  }
  const spec: ReleaseSpec = { version: String(release.version) };
  if (release.command !== undefined) spec.command = String(release.command);
  if (typeof release.image === 'string') spec.image = release.image;
  // The bundle's root is the config's directory unless it says otherwise — not wherever baton runs from (baton -c ../orders/baton.config.ts).
  if (isObject(release.bundle)) {
    const bundle = release.bundle as unknown as BundleSpec;
    const root = bundle.root ?? release.cwd;
    spec.bundle = { ...bundle, root: resolve(cwd, typeof root === 'string' ? root : '.') };
  }
  if (release.args !== undefined) spec.args = [...release.args];
  if (release.env !== undefined) spec.env = { ...release.env };
  if (Array.isArray(secretEnv) && secretEnv.length > 0) spec.secretEnv = [...new Set(secretEnv)];
  if (release.cwd !== undefined) spec.cwd = release.cwd;
  return spec;
}

/** What Docker accepts as an image reference: [registry[:port]/]name[:tag][@sha256:digest], lower-case path components. */
const IMAGE_REFERENCE = /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** A POSIX environment variable name. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;


function resolvePath(cwd: string, path: string): string {
  return resolve(cwd, path);
}

/**
 * Types a `baton.config.ts` (it returns its argument): editors then check
 * the config as it is written.
 *
 * @example
 * export default defineDeployConfig({
 *   service: 'orders',
 *   release: { version: 'v2', command: 'node', args: ['dist/main.js'] },
 *   strategy: { type: 'canary', steps: [{ setWeight: 20 }, { pause: { durationMs: 30_000 } }] },
 * });
 */
export function defineDeployConfig(config: DeployConfig): DeployConfig {
  return config;
}

// Environments through resolveDeployConfig, as a user's config reaches them:
// each environment's settings over the service's (as mergeEnvironment's TSDoc
// promises), where its state lives, the pipeline around it, and every bad
// input refused up front with a message that names the field — and never
// echoes a secret.
import { describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { resolveDeployConfig, type ResolvedDeployConfig } from '../index.js';

const CWD = '/srv/orders';

const service = {
  service: 'orders',
  release: { version: 'v1', command: 'node', args: ['dist/main.js'], env: { LOG_LEVEL: 'info', DATABASE_URL: 'postgres://dev-db/orders' }, secretEnv: ['API_KEY'] },
  instances: 2,
  router: { kind: 'builtin', port: 8080, limits: { maxConnections: 100, headersTimeoutMs: 5_000 }, expose: { metrics: true } },
  strategy: { type: 'canary', steps: [{ setWeight: 20 }, { analysis: { durationMs: 10_000 } }] },
  platform: { port: 'assign', listenTimeoutMs: 5_000 },
  analysis: { minRequests: 20, maxErrorRate: 0.1 },
  timeouts: { readyMs: 10_000 },
  gates: { soak: { durationMs: 60_000 }, approval: true },
};

function withEnvironments(environments: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...service, ...extra, environments };
}

function resolve(input: unknown, environment?: string): ResolvedDeployConfig {
  return resolveDeployConfig(input, { cwd: CWD, ...(environment === undefined ? {} : { environment }) });
}

/** The message of the BATON_ERR_DEPLOY_CONFIG resolving `input` throws. */
function problemsOf(input: unknown, environment?: string): string {
  try {
    resolve(input, environment);
  } catch (error) {
    expect(isBatonError(error, 'BATON_ERR_DEPLOY_CONFIG'), String(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('an environment over the service', () => {
  const config = withEnvironments({
    staging: { instances: 1, release: { env: { DATABASE_URL: 'postgres://staging-db/orders' } } },
    production: {
      instances: 4,
      router: { port: 9090, limits: { maxConnections: 5_000 }, expose: { probeDetails: true } },
      strategy: { type: 'rolling', maxSurge: 2 },
      analysis: { minRequests: 200 },
      timeouts: { drainMs: 60_000 },
      release: { env: { DATABASE_URL: 'postgres://prod-db/orders', REGION: 'eu' }, secretEnv: ['DATABASE_URL', 'API_KEY'] },
      gates: { soak: false, contracts: true },
    },
  });

  it('takes what the environment leaves unset from the service, and only the environment’s own values where it sets them', () => {
    const staging = resolve(config, 'staging');
    expect(staging.instances).toBe(1);
    expect(staging.strategy).toEqual({ type: 'canary', steps: [{ setWeight: 20 }, { analysis: { durationMs: 10_000 } }], analysisMs: 0 });
    expect(staging.router).toMatchObject({ kind: 'builtin', port: 8080, limits: { maxConnections: 100, headersTimeoutMs: 5_000 }, expose: { metrics: true, probeDetails: false } });
    expect(staging.release).toMatchObject({ version: 'v1', command: 'node', args: ['dist/main.js'], env: { LOG_LEVEL: 'info', DATABASE_URL: 'postgres://staging-db/orders' }, secretEnv: ['API_KEY'] });
    expect(staging.gates).toEqual({ soak: { durationMs: 60_000 }, approval: true });
  });

  it('merges the router key by key, limits and expose one level deeper', () => {
    const router = resolve(config, 'production').router;
    expect(router.kind).toBe('builtin');
    expect(router.port).toBe(9090);
    expect(router.limits).toMatchObject({ maxConnections: 5_000, headersTimeoutMs: 5_000, bodyTimeoutMs: 30_000 });
    expect(router.expose).toEqual({ metrics: true, probeDetails: true });
  });

  it('replaces the strategy whole: no canary step of the service leaks into a rolling one', () => {
    expect(resolve(config, 'production').strategy).toEqual({ type: 'rolling', maxSurge: 2, maxUnavailable: 0, analysisMs: 0 });
  });

  it('merges analysis and timeouts key by key', () => {
    const production = resolve(config, 'production');
    expect(production.analysis).toMatchObject({ minRequests: 200, maxErrorRate: 0.1 });
    expect(production.timeouts).toEqual({ readyMs: 10_000, drainMs: 60_000, stopMs: 30_000 });
    // The platform's listen timeout stays the service's; a section the environment leaves alone is the service's whole.
    expect(production.platform).toMatchObject({ kind: 'local', port: 'assign', listenTimeoutMs: 5_000 });
  });

  it('merges release.env variable by variable and adds up secretEnv; the artifact and how it runs stay the release’s', () => {
    const release = resolve(config, 'production').release;
    expect(release.env).toEqual({ LOG_LEVEL: 'info', DATABASE_URL: 'postgres://prod-db/orders', REGION: 'eu' });
    expect([...(release.secretEnv ?? [])].sort()).toEqual(['API_KEY', 'DATABASE_URL']);
    expect(release).toMatchObject({ version: 'v1', command: 'node', args: ['dist/main.js'] });
  });

  it('merges gates gate by gate: soak: false turns the service’s soak off, the others stay', () => {
    const production = resolve(config, 'production');
    expect(production.gates.soak).toBeUndefined();
    expect(production.gates.approval).toBe(true);
    expect(production.gates.contracts).toBeDefined();
  });

  it('keeps the service’s platform settings for a platform of the same kind, and replaces them for another kind', () => {
    const same = resolve(withEnvironments({ staging: { platform: { listenTimeoutMs: 9_000 } } }), 'staging');
    expect(same.platform).toMatchObject({ kind: 'local', port: 'assign', listenTimeoutMs: 9_000 });
    const sameNamed = resolve(withEnvironments({ staging: { platform: { kind: 'local', listenTimeoutMs: 9_000 } } }), 'staging');
    expect(sameNamed.platform).toMatchObject({ kind: 'local', port: 'assign', listenTimeoutMs: 9_000 });

    const other = resolve(withEnvironments({ production: { platform: { kind: 'docker', hosts: ['tcp://10.0.0.5:2376'] } } }), 'production');
    expect(other.platform.kind).toBe('docker');
    // The local platform's port: 'assign' and listen timeout belong to it: the docker platform starts from its own defaults.
    expect(other.platform.port).toBe('announce');
    expect(other.platform.listenTimeoutMs).toBe(10_000);
    expect(other.platform.options).toEqual({ hosts: ['tcp://10.0.0.5:2376'] });

    // And the other way: a service on docker, one environment on this machine — docker's hosts do not reach the local platform (which would refuse them).
    const dockerService = { ...service, platform: { kind: 'docker', hosts: ['tcp://10.0.0.5:2376'] } };
    const local = resolve({ ...dockerService, environments: { dev: { platform: { kind: 'local' } }, production: {} } }, 'dev');
    expect(local.platform).toMatchObject({ kind: 'local', options: {} });
    expect(resolve({ ...dockerService, environments: { dev: { platform: { kind: 'local' } }, production: {} } }, 'production').platform).toMatchObject({ kind: 'docker', options: { hosts: ['tcp://10.0.0.5:2376'] } });
  });

  it('gives each environment its own state under <stateDir>/env/<name>, the service’s directory shared, and says where it stands in the pipeline', () => {
    const staging = resolve(config, 'staging');
    const production = resolve(config, 'production');
    expect(staging).toMatchObject({ environment: 'staging', stateDir: '/srv/orders/.baton/orders/env/staging', serviceDir: '/srv/orders/.baton/orders', environments: ['staging', 'production'], pipeline: ['staging', 'production'] });
    expect(staging.previousEnvironment).toBeUndefined();
    expect(production).toMatchObject({ environment: 'production', stateDir: '/srv/orders/.baton/orders/env/production', serviceDir: '/srv/orders/.baton/orders', previousEnvironment: 'staging' });

    const custom = resolve({ ...config, stateDir: 'state' }, 'production');
    expect(custom).toMatchObject({ stateDir: '/srv/orders/state/env/production', serviceDir: '/srv/orders/state' });
  });

  it('resolves to the service alone without --env: no environment, but every environment and the pipeline named', () => {
    const whole = resolve(config);
    expect(whole.environment).toBeUndefined();
    expect(whole.previousEnvironment).toBeUndefined();
    expect(whole).toMatchObject({ instances: 2, stateDir: '/srv/orders/.baton/orders', serviceDir: '/srv/orders/.baton/orders', environments: ['staging', 'production'], pipeline: ['staging', 'production'] });
  });

  it('takes an environment without settings of its own as the service’s', () => {
    const bare = resolve(withEnvironments({ staging: {}, production: {} }), 'production');
    expect(bare).toMatchObject({ instances: 2, router: { port: 8080 }, gates: { approval: true, soak: { durationMs: 60_000 } }, previousEnvironment: 'staging' });
  });
});

describe('the pipeline', () => {
  it('defaults to every environment in the order declared', () => {
    const config = withEnvironments({ dev: {}, staging: {}, production: {} });
    expect(resolve(config, 'dev').pipeline).toEqual(['dev', 'staging', 'production']);
    expect(resolve(config, 'dev').previousEnvironment).toBeUndefined();
    expect(resolve(config, 'staging').previousEnvironment).toBe('dev');
    expect(resolve(config, 'production').previousEnvironment).toBe('staging');
  });

  it('follows an explicit pipeline, and an environment left out of it stands alone', () => {
    const config = withEnvironments({ production: {}, preview: {}, staging: {} }, { pipeline: ['staging', 'production'] });
    expect(resolve(config, 'staging')).toMatchObject({ pipeline: ['staging', 'production'], environments: ['production', 'preview', 'staging'] });
    expect(resolve(config, 'staging').previousEnvironment).toBeUndefined();
    expect(resolve(config, 'production').previousEnvironment).toBe('staging');
    const preview = resolve(config, 'preview');
    expect(preview.previousEnvironment).toBeUndefined();
    expect(preview.stateDir).toBe('/srv/orders/.baton/orders/env/preview');
  });

  it('refuses a pipeline naming an unknown environment, listing the declared ones', () => {
    const message = problemsOf(withEnvironments({ staging: {}, production: {} }, { pipeline: ['staging', 'prod'] }), 'staging');
    expect(message).toContain('pipeline: "prod" is not an environment; the config declares staging, production');
  });

  it('refuses a pipeline naming an environment twice', () => {
    const message = problemsOf(withEnvironments({ staging: {}, production: {} }, { pipeline: ['staging', 'production', 'staging'] }), 'staging');
    expect(message).toContain('pipeline: each environment once; staging repeated');
  });

  it('refuses an empty pipeline, or one that is not a list of names', () => {
    expect(problemsOf(withEnvironments({ staging: {} }, { pipeline: [] }), 'staging')).toContain("pipeline: the environments a release goes through, first to last, e.g. ['staging', 'production']; got []");
    expect(problemsOf(withEnvironments({ staging: {} }, { pipeline: 'staging' }), 'staging')).toContain('pipeline: the environments a release goes through');
  });

  it('refuses a pipeline without environments', () => {
    const message = problemsOf({ ...service, pipeline: ['staging'] });
    expect(message).toContain('environments: an object of environments by name');
  });
});

describe('bad environments', () => {
  it('refuses a service setting in an environment, saying it is the service’s', () => {
    const message = problemsOf(withEnvironments({ staging: { stateDir: '/var/lib/orders-staging' }, production: {} }), 'staging');
    expect(message).toContain("environments.staging.stateDir: not an environment setting (it is the service's, the same in every environment); known: instances, strategy, router");
    expect(problemsOf(withEnvironments({ staging: { service: 'orders-staging' } }), 'staging')).toContain("environments.staging.service: not an environment setting (it is the service's");
    expect(problemsOf(withEnvironments({ staging: { replicas: 2 } }), 'staging')).toContain('environments.staging.replicas: not an environment setting; known:');
  });

  it('says once what is wrong with an unknown key in an environment, listing what an environment accepts', () => {
    // Not a second line saying `replicas` is not a setting with the *service's* keys (stateDir, environments, pipeline...) as the accepted ones.
    const message = problemsOf(withEnvironments({ staging: { replicas: 2 } }), 'staging');
    expect(message.split('\n').filter((line) => line.includes('replicas'))).toEqual([
      '  - environments.staging.replicas: not an environment setting; known: instances, strategy, router, analysis, timeouts, paths, platform, metricsToken, release, gates, kubernetes',
    ]);
    const stateDir = problemsOf(withEnvironments({ staging: { stateDir: 5 } }), 'staging');
    expect(stateDir.split('\n').filter((line) => line.includes('stateDir'))).toHaveLength(1);
  });

  it('refuses release.args (or the version, or the command) in an environment: the release runs the same everywhere', () => {
    const message = problemsOf(withEnvironments({ staging: {}, production: { release: { args: ['--prod'], version: 'v9' } } }), 'staging');
    expect(message).toContain('environments.production.release.args: an environment gives a release only its variables (env, secretEnv)');
    expect(message).toContain('environments.production.release.version: an environment gives a release only its variables (env, secretEnv)');
    expect(problemsOf(withEnvironments({ staging: { release: 'v2' } }), 'staging')).toContain('environments.staging.release: an object { env?, secretEnv? }; got "v2"');
  });

  it('refuses an environment name that cannot name a directory or a command-line value', () => {
    for (const name of ['Staging', 'prod/eu', '1st', 'a'.repeat(33), '../x']) {
      const message = problemsOf(withEnvironments({ [name]: {}, production: {} }), 'production');
      expect(message).toContain(`environments.${name}: an environment's name is lower-case letters, digits and "-", starting with a letter (at most 32), e.g. "staging"`);
    }
    // The longest and the dashed ones are fine.
    expect(resolve(withEnvironments({ ['a'.repeat(32)]: {}, 'eu-west-1': {} }), 'eu-west-1').previousEnvironment).toBe('a'.repeat(32));
  });

  it('refuses environments that are not an object of settings', () => {
    expect(problemsOf(withEnvironments({})), 'an empty object').toContain('environments: an object of environments by name, e.g. { staging: { instances: 1 }, production: { instances: 3 } }; got {}');
    expect(problemsOf(withEnvironments(['staging', 'production']))).toContain('environments: an object of environments by name');
    expect(problemsOf(withEnvironments({ staging: 3 }), 'staging')).toContain('environments.staging: an object of settings over the service\'s (instances, strategy, router, analysis, timeouts, paths, platform, metricsToken, release, gates, kubernetes); got 3');
  });

  it('reports an error in production’s section when resolving staging, prefixed with the environment', () => {
    const config = withEnvironments({ staging: {}, production: { instances: 0, router: { limits: { maxConnections: -1 } }, gates: { soak: { durationMs: 'long' } } } });
    const message = problemsOf(config, 'staging');
    expect(message).toContain('environments.production: instances: an integer from 1 to 64; got 0');
    expect(message).toContain('environments.production: router.limits.maxConnections: an integer from 1 to 1000000; got -1');
    expect(message).toContain('environments.production: gates.soak: { durationMs }');
    // Without --env, too: the config is wrong, whatever it is used for.
    expect(problemsOf(config)).toContain('environments.production: instances: an integer from 1 to 64; got 0');
  });

  it('reports a problem of the service’s own settings once, not once per environment', () => {
    const message = problemsOf({ ...service, instances: 0, timeouts: { readyMs: 1 }, environments: { dev: {}, staging: {}, production: {} } }, 'staging');
    expect(message.match(/instances: an integer from 1 to 64; got 0/g)).toHaveLength(1);
    expect(message.match(/timeouts\.readyMs: an integer from 100/g)).toHaveLength(1);
    expect(message).not.toContain('environments.dev:');
    // An environment that sets the field right fixes it for itself only: the service's own value is still wrong.
    const fixedInOne = problemsOf({ ...service, instances: 0, environments: { staging: { instances: 1 }, production: {} } }, 'staging');
    expect(fixedInOne.match(/instances: an integer from 1 to 64; got 0/g)).toHaveLength(1);
  });

  it('refuses --env for a config without environments', () => {
    const message = problemsOf(service, 'staging');
    expect(message).toBe('There is no environment "staging": the config declares no environments. Declare them (environments: { staging: {...}, production: {...} }) or leave --env out.');
  });

  it('refuses an unknown environment, listing the declared ones', () => {
    const message = problemsOf(withEnvironments({ staging: {}, production: {} }), 'prod');
    expect(message).toBe('There is no environment "prod": the config declares staging, production.');
  });
});

describe('secrets in a bad config', () => {
  const SECRET = 'hunter2';
  const URL = `postgres://u:${SECRET}@db/x`;

  const cases: [string, Record<string, unknown>][] = [
    ['an environment that is a URL', { production: URL }],
    ['environments that are a URL', URL as unknown as Record<string, unknown>],
    ['an environment’s release that is a URL', { production: { release: URL } }],
    ['an environment’s router port', { production: { router: { port: URL } } }],
    ['an environment’s strategy', { production: { strategy: URL } }],
    ['an environment’s platform', { production: { platform: URL } }],
    ['an environment’s release.env value that is not a string', { production: { release: { env: { DATABASE_URL: [URL] } } } }],
    ['an environment’s gates', { production: { gates: URL } }],
    ['an environment’s soak gate', { production: { gates: { soak: URL } } }],
    ['an environment’s approval gate', { production: { gates: { approval: URL } } }],
  ];
  it.each(cases)('never echoes the password of %s', (_what, environments) => {
    const message = problemsOf(withEnvironments(environments));
    expect(message).toContain('environments');
    expect(message).not.toContain(SECRET);
  });

  it('never echoes the password of a pipeline entry', () => {
    const message = problemsOf(withEnvironments({ staging: {} }, { pipeline: [URL] }));
    expect(message).toContain('pipeline:');
    expect(message).not.toContain(SECRET);
  });

  it('never echoes a password cut in two where a long value is shortened', () => {
    // The value is shortened to 200 characters for the message: the URL's password straddles the cut.
    const long = `${'x'.repeat(179)} postgres://u:${SECRET}${SECRET}@db/x`;
    const message = problemsOf(withEnvironments({ production: long }));
    expect(message).toContain('environments.production: an object of settings');
    expect(message).not.toContain('hunter');
  });
});

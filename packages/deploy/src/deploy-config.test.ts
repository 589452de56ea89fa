import { describe, expect, it } from 'vitest';
import { problemsOf } from './config-problems.test.fixtures.js';
import { planDeploy, resolveDeployConfig } from './index.js';

const release = { version: 'v2', command: 'node', args: ['dist/main.js'] };


describe('resolveDeployConfig', () => {
  it('fills in the defaults a user would expect: 3 instances, a rolling deploy one at a time, Baton\'s probe paths, state under .baton/<service>', () => {
    const config = resolveDeployConfig({ service: 'orders', release }, { cwd: '/srv/orders' });
    expect(config).toMatchObject({
      service: 'orders',
      instances: 3,
      strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 },
      router: { kind: 'auto' },
      analysis: { method: 'statistics', maxErrorRate: 0.05, maxErrorRateIncrease: 0.01, maxLatencyRatio: 1.5, minRequests: 50, confidence: 0.95, minRouteRequests: 50, onInconclusive: 'pause' },
      timeouts: { readyMs: 30_000, drainMs: 30_000, stopMs: 30_000 },
      paths: { readiness: '/readyz', liveness: '/livez', metrics: '/metrics' },
      stateDir: '/srv/orders/.baton/orders',
    });
  });

  it('router: nothing of /metrics or probe details exposed, client limits and untrusted forwarding headers by default; bad values named', () => {
    const config = resolveDeployConfig({ service: 'orders', release }, { cwd: '/srv/orders' });
    expect(config.router).toEqual({
      kind: 'auto',
      expose: { metrics: false, probeDetails: false },
      limits: { maxConnections: 2048, headersTimeoutMs: 10_000, bodyTimeoutMs: 30_000, keepAliveTimeoutMs: 30_000, minBodyBytesPerSecond: 1024, bodyRateWindowMs: 10_000 },
      trustForwarded: false,
    });
    const custom = resolveDeployConfig(
      { service: 'orders', release, router: { kind: 'builtin', port: 8080, expose: { metrics: true }, limits: { maxConnections: 100 }, trustForwarded: true } },
      { cwd: '/' },
    );
    expect(custom.router).toMatchObject({ kind: 'builtin', port: 8080, expose: { metrics: true, probeDetails: false }, limits: { maxConnections: 100, headersTimeoutMs: 10_000 }, trustForwarded: true });
    const message = problemsOf({ service: 'orders', release, router: { expose: { metrics: 'yes', logs: true }, limits: { maxConnections: 0, headersTimeoutMs: 'soon' }, trustForwarded: 1 } });
    for (const expected of [
      'router.expose.metrics: true or false; got "yes"',
      'router.expose.logs',
      'router.limits.maxConnections: an integer from 1',
      'router.limits.headersTimeoutMs: an integer from 100',
      'router.trustForwarded: true or false; got 1',
    ]) {
      expect(message).toContain(expected);
    }
  });

  it('platform: settings past the common ones go to a non-local platform package as they are (it checks them); the local platform has none', () => {
    const docker = resolveDeployConfig({ service: 'orders', release: { version: 'v2', image: 'orders:v2' }, platform: { kind: 'docker', hosts: [{ docker: 'unix:///var/run/docker.sock' }], memory: '256m' } }, { cwd: '/' });
    expect(docker.platform).toEqual({ kind: 'docker', port: 'announce', listenTimeoutMs: 30_000, options: { hosts: [{ docker: 'unix:///var/run/docker.sock' }], memory: '256m' } });
    expect(docker.release).toEqual({ version: 'v2', image: 'orders:v2' });
    expect(problemsOf({ service: 'orders', release, platform: { hosts: [] } })).toContain('platform.hosts: not a setting; known: kind, package, port, listenTimeoutMs');
  });

  it('release: an image instead of a command, for a container platform; a bundle of explicit files for the local one; a bad reference, a bundle path out of the service, or a hand-written artifact are named', () => {
    expect(problemsOf({ service: 'orders', release: { version: 'v2', image: 'orders:v2' } })).toContain("release.image: the local platform runs commands, not images; set platform.kind to 'docker'");
    expect(problemsOf({ service: 'orders', release: { version: 'v2', image: 'Orders V2' }, platform: { kind: 'docker' } })).toContain('release.image: an image reference like "orders:v2"');
    expect(problemsOf({ service: 'orders', release: { version: 'v2' } })).toContain('release.command: the executable to run, e.g. "node" (or release.image, for a container platform); got nothing');
    // The bundle's root is the config's directory, whichever directory baton runs in; a relative root starts there too.
    const bundled = resolveDeployConfig({ service: 'orders', release: { ...release, bundle: { include: ['dist', 'package.json', 'node_modules'] } } }, { cwd: '/srv/orders' });
    expect(bundled.release.bundle).toEqual({ include: ['dist', 'package.json', 'node_modules'], root: '/srv/orders' });
    const built = resolveDeployConfig({ service: 'orders', release: { ...release, bundle: { root: 'build', include: ['dist'] } } }, { cwd: '/srv/orders' });
    expect(built.release.bundle?.root).toBe('/srv/orders/build');
    const message = problemsOf({ service: 'orders', release: { ...release, bundle: { include: ['../secrets', '/etc'], extra: 1 }, artifact: { digest: 'sha256:00' } } });
    expect(message).toContain('release.bundle.include: a non-empty array of paths relative to the service directory');
    expect(message).toContain('release.bundle.extra: not a setting; known: include, root');
    expect(message).toContain('release.artifact: set by Baton when the release is created (baton release create), not in a config');
    expect(problemsOf({ service: 'orders', release: { version: 'v2', image: 'orders:v2', bundle: { include: ['dist'] } }, platform: { kind: 'docker' } })).toContain('release.bundle: a bundle is what the local platform runs');
  });

  it("platform: a service not served through Baton gets its port in PORT ('assign'); the listen wait defaults to readyMs; bad values named with what is accepted", () => {
    expect(resolveDeployConfig({ service: 'orders', release }, { cwd: '/' }).platform).toEqual({ kind: 'local', port: 'announce', listenTimeoutMs: 30_000, options: {} });
    const assign = resolveDeployConfig({ service: 'orders', release, timeouts: { readyMs: 60_000 }, platform: { port: 'assign' } }, { cwd: '/' });
    expect(assign.platform).toEqual({ kind: 'local', port: 'assign', listenTimeoutMs: 60_000, options: {} });
    expect(resolveDeployConfig({ service: 'orders', release, platform: { listenTimeoutMs: 5000 } }, { cwd: '/' }).platform.listenTimeoutMs).toBe(5000);
    const message = problemsOf({ service: 'orders', release, platform: { port: 3000, listenTimeoutMs: 0, host: '0.0.0.0' } });
    expect(message).toContain("platform.port: 'announce' (the instance prints {\"event\":\"listening\",\"port\":N}, as services served through Baton do) or 'assign' (any other service: it gets a free port in PORT); got 3000");
    expect(message).toContain('platform.listenTimeoutMs: an integer from 100');
    expect(message).toContain('platform.host: not a setting; known: kind, package, port, listenTimeoutMs');
    expect(problemsOf({ service: 'orders', release, platform: 'assign' })).toContain('platform: an object; got "assign"');
  });

  it('release.secretEnv: keeps the names (once each), refuses anything but variable names without echoing a value', () => {
    const config = resolveDeployConfig({ service: 'orders', release: { ...release, env: { OPAQUE: 'x' }, secretEnv: ['OPAQUE', 'INHERITED', 'OPAQUE'] } }, { cwd: '/srv/orders' });
    expect(config.release.secretEnv).toEqual(['OPAQUE', 'INHERITED']);
    for (const bad of ['OPAQUE', ['has space'], ['9LIVES'], [42], [''], { OPAQUE: true }]) {
      const message = problemsOf({ service: 'orders', release: { ...release, secretEnv: bad } });
      expect(message).toContain('release.secretEnv: an array of environment variable names');
      expect(message).not.toContain('has space');
    }
  });

  it('echoes what was wrong without the secrets in it (a release given as a list, args as one string)', () => {
    const listed = problemsOf({ service: 'orders', release: [{ ...release, env: { API_TOKEN: 'tok-planted-51c9e0', DATABASE_URL: 'postgres://app:Pg-planted-8f3a@db/orders' } }] });
    expect(listed).toContain('release: an object like');
    expect(listed).toContain('"API_TOKEN":"[redacted]"');
    expect(listed).not.toMatch(/tok-planted|Pg-planted/);
    const args = problemsOf({ service: 'orders', release: { ...release, args: 'dist/main.js --db-password=hunter-22-x' } });
    expect(args).toContain('release.args: an array of strings; got "dist/main.js --db-password=[redacted]"');
  });

  it('keeps a canary\'s steps as written', () => {
    const config = resolveDeployConfig(
      { service: 'orders', release, instances: 4, strategy: { type: 'canary', steps: [{ setWeight: 25 }, { pause: {} }, { analysis: { durationMs: 5000 } }, { pause: { durationMs: 1000 } }], analysisMs: 2000 } },
      { cwd: '/' },
    );
    expect(config.strategy).toEqual({ type: 'canary', steps: [{ setWeight: 25 }, { pause: {} }, { analysis: { durationMs: 5000 } }, { pause: { durationMs: 1000 } }], analysisMs: 2000 });
  });

  it('a canary starts a fresh baseline unless told not to: strategy.baseline is true or false, nothing else', () => {
    const steps = [{ setWeight: 20 }, { analysis: { durationMs: 5000 } }];
    const planned = (strategy: Record<string, unknown>) => planDeploy(resolveDeployConfig({ service: 'orders', release, strategy }, { cwd: '/' }).strategy, 3, { hasStable: true });
    // Left unset, the plan's default (a baseline) stands.
    expect(planned({ type: 'canary', steps })[0]).toEqual({ kind: 'scale', release: 'candidate', instances: 1, baseline: 1 });
    expect(planned({ type: 'canary', steps, baseline: true })[0]).toEqual({ kind: 'scale', release: 'candidate', instances: 1, baseline: 1 });
    expect(resolveDeployConfig({ service: 'orders', release, strategy: { type: 'canary', steps, baseline: false } }, { cwd: '/' }).strategy).toEqual({ type: 'canary', steps, analysisMs: 0, baseline: false });
    expect(planned({ type: 'canary', steps, baseline: false })[0]).toEqual({ kind: 'scale', release: 'candidate', instances: 1 });
    for (const bad of ['false', 0, null, { fresh: true }]) {
      expect(problemsOf({ service: 'orders', release, strategy: { type: 'canary', steps, baseline: bad } })).toContain('strategy.baseline: true (a fresh baseline of the stable release beside the canary, for its analysis; the default) or false');
    }
    expect(problemsOf({ service: 'orders', release, strategy: { type: 'canary', steps, baseline: 'no' } })).toContain('got "no"');
    // A canary's setting only.
    expect(problemsOf({ service: 'orders', release, strategy: { type: 'rolling', baseline: true } })).toContain('strategy.baseline: not a setting; known: type, maxSurge, maxUnavailable, analysisMs');
    expect(problemsOf({ service: 'orders', release, strategy: { type: 'blue-green', baseline: true } })).toContain('strategy.baseline: not a setting');
  });

  it('analysis: the statistical judge by default, the threshold one on request; confidence and the route minimum checked', () => {
    const thresholds = resolveDeployConfig({ service: 'orders', release, analysis: { method: 'thresholds', confidence: 0.99, minRouteRequests: 200 } }, { cwd: '/' });
    expect(thresholds.analysis).toMatchObject({ method: 'thresholds', confidence: 0.99, minRouteRequests: 200 });
    const message = problemsOf({ service: 'orders', release, analysis: { method: 'bayes', confidence: 1, minRouteRequests: 0 } });
    for (const expected of [
      'analysis.method: statistics (per route, with tests; the default) or thresholds (the whole release against fixed limits); got "bayes"',
      'analysis.confidence: a probability from 0.5 to below 1 (0.95 = 95%); got 1',
      'analysis.minRouteRequests: an integer from 1',
    ]) {
      expect(message).toContain(expected);
    }
    expect(problemsOf({ service: 'orders', release, analysis: { confidence: 0.3 } })).toContain('analysis.confidence: a probability from 0.5 to below 1 (0.95 = 95%); got 0.3');
  });

  it('reports every problem at once, each naming its field and what is accepted', () => {
    const message = problemsOf({
      service: 'my service',
      release: { version: '', command: 42 },
      instances: 0,
      strategy: { type: 'canary', steps: [{ setWeight: 120 }, { wait: 5 }] },
      router: { kind: 'Nginx Plus', package: 'not a package' },
      platform: { kind: 42 },
      analysis: { maxErrorRate: 5 },
      timeouts: { readyMs: -1 },
      paths: { readiness: 'readyz' },
    });
    for (const expected of [
      'service: a name of letters',
      'release.version: a label',
      'release.command: the executable',
      'instances: an integer from 1 to 64; got 0',
      'strategy.steps[0].setWeight: a percentage from 0 to 100; got 120',
      'strategy.steps[1]: one of { setWeight: 20 }',
      "router.kind: auto, builtin, haproxy, nginx or another router package's kind (lower-case letters, digits and dashes); got \"Nginx Plus\"",
      'router.package: an npm package name like @acme/baton-router-envoy; got "not a package"',
      "platform.kind: local or another platform package's kind (lower-case letters, digits and dashes); got 42",
      'analysis.maxErrorRate: a fraction from 0 to 1 (0.01 = 1%); got 5',
      'timeouts.readyMs: an integer from 100',
      'paths.readiness: a path starting with "/"; got "readyz"',
    ]) {
      expect(message).toContain(expected);
    }
  });

  it('refuses a rolling deploy that could never replace anything, and a config that is not an object', () => {
    expect(problemsOf({ service: 'orders', release, strategy: { type: 'rolling', maxSurge: 0, maxUnavailable: 0 } })).toContain('maxSurge and maxUnavailable cannot both be 0');
    expect(problemsOf(['not', 'an', 'object'])).toContain('the config must be an object');
    expect(problemsOf({ service: 'orders', release, strategy: { type: 'big-bang' } })).toContain('strategy.type: one of rolling, canary, blue-green; got "big-bang"');
  });

  it('refuses misspelt keys, sections that are not objects, a step of two kinds, and a rolling deploy that could leave nothing serving', () => {
    const message = problemsOf({ service: 'orders', release, instance: 2, timeouts: 5, analysis: { maxErrorRat: 0.1 }, strategy: { type: 'canary', steps: [{ setWeight: 20, pause: {} }] } });
    expect(message).toContain('instance: not a setting; known: service, release, instances');
    expect(message).toContain('timeouts: an object; got 5');
    expect(message).toContain('analysis.maxErrorRat: not a setting');
    expect(message).toContain('strategy.steps[0]: one kind per step (setWeight, pause, analysis or shadow); got setWeight and pause');
    expect(problemsOf({ service: 'orders', release, instances: 2, strategy: { type: 'rolling', maxSurge: 0, maxUnavailable: 2 } })).toContain('strategy.maxUnavailable: fewer than instances (2)');
  });
});


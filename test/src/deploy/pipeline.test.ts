// A pipeline of two environments on this machine — staging and production,
// each with its own router and instances of the real orders service — run
// through the `baton` CLI (in-process) as a team would: deploy to staging,
// promote to production through the gates (contracts from verification
// records, migrations from each release's own bundle, soak, approval), and
// roll back to a named release. Every refusal must come before anything
// starts in the environment, and say why.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, loadConfigFile, runCli } from '@baton/cli';
import { writeVerificationRecord, type VerificationResult } from '@baton/contracts';
import { stopService, resolveDeployConfig, type HistoryEntry, type ServiceState } from '@baton/deploy';
import { haproxyInstalled } from '@baton/router-haproxy';
import { SERVICE_MAIN, steadyLoad, failuresOf } from './deploy-fixture.js';

const productionRouter = haproxyInstalled() ? 'haproxy' : 'builtin';
if (!haproxyInstalled()) console.log('pipeline e2e: haproxy is not installed (apt-get install haproxy; .ci/run does) — production runs behind the built-in router');

const TIMEOUTS = "SET lock_timeout = '2s';\nSET statement_timeout = '5s';\n";

let dir: string;
let stateDir: string;

/** The service's checkout as CI would have it for one release: its VERSION, its migrations, its verification record. */
async function checkout(version: string, options: { migrations: Record<string, string>; pactPasses: boolean; env?: Record<string, string> }): Promise<void> {
  await rm(join(dir, 'migrations'), { recursive: true, force: true });
  await mkdir(join(dir, 'migrations'));
  for (const [name, sql] of Object.entries(options.migrations)) await writeFile(join(dir, 'migrations', name), sql);
  await writeFile(join(dir, 'VERSION'), `${version}\n`);
  const failures = options.pactPasses ? [] : ['$.total -> Expected 42 (Integer) but received "42.00" (String)'];
  const result: VerificationResult = {
    passed: options.pactPasses,
    interactions: [
      { consumer: 'checkout', description: 'a request for order 1', status: 'passed', failures: [] },
      { consumer: 'checkout', description: 'a request for the order total', status: options.pactPasses ? 'passed' : 'failed', failures },
    ],
    summary: options.pactPasses ? '' : 'a request for the order total: $.total mismatch',
    raw: {},
  };
  await writeVerificationRecord(result, join(dir, 'verification', `${version}.json`), { provider: 'orders', providerVersion: version });
  await writeConfig(options.env ?? {});
}

async function writeConfig(env: Record<string, string>): Promise<void> {
  const config = {
    service: 'orders',
    stateDir,
    release: { version: 'v0', command: process.execPath, args: [SERVICE_MAIN], env: { BATON_PROPAGATION_DELAY_MS: '200', ...env }, bundle: { include: ['VERSION', 'migrations'] } },
    instances: 1,
    timeouts: { readyMs: 15_000, drainMs: 10_000, stopMs: 10_000 },
    router: { kind: 'builtin' },
    analysis: { minRequests: 20, maxLatencyRatio: 2, minLatencyIncreaseMs: 60, onInconclusive: 'continue' },
    gates: { contracts: { results: 'verification/{version}.json' }, migrations: { dir: 'migrations' } },
    environments: {
      staging: {
        release: { env: { ORDERS_ENVIRONMENT: 'staging' } },
        strategy: { type: 'canary', steps: [{ setWeight: 50 }, { analysis: { durationMs: 2500 } }] },
      },
      production: {
        instances: 2,
        router: { kind: productionRouter },
        release: { env: { ORDERS_ENVIRONMENT: 'production' } },
        gates: { soak: { durationMs: 0 }, approval: true },
      },
    },
  };
  await writeFile(join(dir, 'baton.config.json'), JSON.stringify(config, null, 2));
}

async function baton(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (text) => void (stdout += text) }, stderr: { write: (text) => void (stderr += text) }, cwd: dir, env: {} });
  return { code, stdout, stderr };
}

function state(environment: string): ServiceState {
  return JSON.parse(readFileSync(join(stateDir, 'env', environment, 'journal', 'state.json'), 'utf8')) as ServiceState;
}

function history(environment: string): HistoryEntry[] {
  return readFileSync(join(stateDir, 'env', environment, 'history.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as HistoryEntry);
}

/** Which releases each environment's instances run now (started, not stopped). */
function running(environment: string): string[] {
  return [...new Set(state(environment).instances.filter((instance) => instance.status !== 'stopped' && instance.status !== 'failed').map((instance) => instance.release))].sort();
}

async function statusOf(environment: string): Promise<{ stable?: string; router?: { url?: string; backends?: { release: string; weight: number; state: string }[] } }> {
  const result = await baton('status', '--env', environment, '--json');
  expect(result.code, result.stderr).toBe(EXIT.ok);
  return JSON.parse(result.stdout) as { stable?: string; router?: { url?: string; backends?: { release: string; weight: number; state: string }[] } };
}

async function registryDigest(version: string): Promise<string> {
  return (JSON.parse(await readFile(join(stateDir, 'releases', `${version}.json`), 'utf8')) as { artifact: { digest: string } }).artifact.digest;
}

beforeAll(async () => {
  dir = await mkdtemp('/tmp/bp-');
  // Short: the routers' unix sockets live under it.
  stateDir = join(dir, 's');
});

afterAll(async () => {
  const written = await readFile(join(dir, 'baton.config.json'), 'utf8').catch(() => undefined);
  for (const environment of written === undefined ? [] : ['staging', 'production']) {
    await stopService(resolveDeployConfig(JSON.parse(written as string), { cwd: dir, environment })).catch(() => undefined);
  }
  await rm(dir, { recursive: true, force: true });
});

const V1_SCHEMA = { '001_orders.sql': `${TIMEOUTS}CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n` };
const V3_EXPAND = { ...V1_SCHEMA, '002_currency.sql': `${TIMEOUTS}ALTER TABLE orders ADD COLUMN currency text;\n` };
// v3 no longer reads orders.note; v4 drops it — a contract step, safe only once nothing older than v3 runs.
const V4_CONTRACT = { ...V3_EXPAND, '003_drop_note.sql': `-- baton:contract unused-since=v3\n${TIMEOUTS}ALTER TABLE orders DROP COLUMN note;\n` };

describe(`a pipeline: staging (built-in router) → production (${productionRouter === 'haproxy' ? 'HAProxy' : 'built-in router'})`, () => {
  it('a good release enters at staging and is promoted to production as the same artifact, once approved', async () => {
    await checkout('v1', { migrations: V1_SCHEMA, pactPasses: true });
    const staged = await baton('deploy', '--env', 'staging', '--release', 'v1');
    expect(staged.code, staged.stdout + staged.stderr).toBe(EXIT.ok);
    // The gates are reported first, each with its verdict.
    expect(staged.stdout).toMatch(/Gate previous-environment: skipped/);
    expect(staged.stdout).toMatch(/Gate contracts: pass/);
    expect(staged.stdout).toMatch(/Gate migrations: pass/);
    expect(staged.stdout.indexOf('Gate contracts')).toBeLessThan(staged.stdout.indexOf('Router:'));

    // Production asks for an approval: refused before anything starts there.
    const unapproved = await baton('promote', 'v1', '--to', 'production');
    expect(unapproved.code, unapproved.stdout + unapproved.stderr).toBe(EXIT.refused);
    expect(unapproved.stdout).toMatch(/Gate previous-environment: pass — v1 passed staging/);
    expect(unapproved.stdout).toMatch(/Gate approval: fail — nobody approved v1 for production yet: baton approve v1 --env production/);
    expect(unapproved.stderr).toContain('Nothing was started and no traffic moved.');
    expect(unapproved.stdout).not.toContain('Router:');
    expect(history('production').map((entry) => entry.outcome)).toEqual(['refused']);

    expect((await baton('approve', 'v1', '--env', 'production')).code).toBe(EXIT.ok);
    const promoted = await baton('promote', 'v1', '--to', 'production');
    expect(promoted.code, promoted.stdout + promoted.stderr).toBe(EXIT.ok);
    expect(promoted.stdout).toMatch(/Gate approval: pass — v1 was approved for production/);
    expect(promoted.stdout).toContain('Deployed v1 to production');
    // The promotion's report lists every gate with its evidence, then the deploy.
    const html = /Report: (\S+report\.html)/.exec(promoted.stdout)?.[1] as string;
    const report = JSON.parse(readFileSync(html.replace(/html$/, 'json'), 'utf8')) as { environment: string; via: string; promotedFrom: string; gates: { gate: string; status: string; evidence: string[] }[] };
    expect(report).toMatchObject({ environment: 'production', via: 'promote', promotedFrom: 'staging' });
    expect(report.gates.map((gate) => `${gate.gate} ${gate.status}`)).toEqual(['previous-environment pass', 'contracts pass', 'migrations pass', 'soak pass', 'approval pass']);
    expect(readFileSync(html, 'utf8')).toMatch(/<h2>Gates<\/h2><ul><li class="pass"><b>pass<\/b> previous-environment: v1 passed staging/);

    // The same artifact in both environments, each behind its own router.
    const digest = await registryDigest('v1');
    expect(state('staging').stable?.artifact?.digest).toBe(digest);
    expect(state('production').stable?.artifact?.digest).toBe(digest);
    // With each environment's own variables.
    expect(state('staging').stable?.env?.['ORDERS_ENVIRONMENT']).toBe('staging');
    expect(state('production').stable?.env?.['ORDERS_ENVIRONMENT']).toBe('production');
    const [staging, production] = [await statusOf('staging'), await statusOf('production')];
    expect(staging.router?.url).not.toBe(production.router?.url);
    expect(production.router?.backends?.filter((backend) => backend.release === 'v1')).toHaveLength(2);
    const answer = await fetch(new URL('/orders?limit=1', production.router?.url));
    expect(answer.status).toBe(200);
    const entry = history('production').at(-1);
    expect(entry).toMatchObject({ release: 'v1', via: 'promote', promotedFrom: 'staging', outcome: 'succeeded' });
    expect(entry?.by.user).toBeTruthy();
  });

  it('a release whose pact fails is refused at staging before any of its instances starts', async () => {
    await checkout('v2', { migrations: V1_SCHEMA, pactPasses: false });
    const refused = await baton('deploy', '--env', 'staging', '--release', 'v2');
    expect(refused.code, refused.stdout + refused.stderr).toBe(EXIT.refused);
    expect(refused.stdout).toMatch(/Gate contracts: fail/);
    expect(refused.stdout).toContain('a request for the order total');
    expect(refused.stdout).not.toContain('Router:');
    // Nothing of v2 ever ran; v1 serves on.
    expect(state('staging').instances.some((instance) => instance.release === 'v2')).toBe(false);
    expect((await statusOf('staging')).stable).toBe('v1');
    expect(history('staging').at(-1)).toMatchObject({ release: 'v2', outcome: 'refused' });
    expect(history('staging').at(-1)?.gates?.find((gate) => gate.gate === 'contracts')?.status).toBe('fail');
  });

  it('a contract migration is refused in production while the release that needs the old schema runs there, and accepted once it is retired', async () => {
    await checkout('v3', { migrations: V3_EXPAND, pactPasses: true });
    expect((await baton('deploy', '--env', 'staging', '--release', 'v3')).code).toBe(EXIT.ok);
    await checkout('v4', { migrations: V4_CONTRACT, pactPasses: true });
    // Staging runs v3, which no longer needs the column: the contract step may go there.
    const staged = await baton('deploy', '--env', 'staging', '--release', 'v4');
    expect(staged.code, staged.stdout + staged.stderr).toBe(EXIT.ok);
    expect(staged.stdout).toMatch(/Gate migrations: pass/);

    for (const version of ['v3', 'v4']) expect((await baton('approve', version, '--env', 'production')).code).toBe(EXIT.ok);
    // Production still runs v1, which reads orders.note.
    const early = await baton('promote', 'v4', '--to', 'production');
    expect(early.code, early.stdout + early.stderr).toBe(EXIT.refused);
    expect(early.stdout).toMatch(/Gate migrations: fail — .*v1/);
    expect(early.stdout).toContain('003_drop_note.sql');
    expect(running('production')).toEqual(['v1']);

    // v3 first — its own bundle has no contract step, whatever the checkout holds now — then v4.
    const v3 = await baton('promote', 'v3', '--to', 'production');
    expect(v3.code, v3.stdout + v3.stderr).toBe(EXIT.ok);
    expect(v3.stdout).toMatch(/Gate migrations: pass/);
    const v4 = await baton('promote', 'v4', '--to', 'production');
    expect(v4.code, v4.stdout + v4.stderr).toBe(EXIT.ok);
    expect((await statusOf('production')).stable).toBe('v4');
  });

  it('a release that failed its analysis in staging is refused for production, with the reason', async () => {
    await checkout('v5', { migrations: V4_CONTRACT, pactPasses: true, env: { ORDERS_FAULT_ERROR_RATE: '0.5' } });
    const load = steadyLoad((await statusOf('staging')).router?.url as string, 100);
    try {
      await load.waitForResponses(50, 20_000);
      const staged = await baton('deploy', '--env', 'staging', '--release', 'v5');
      expect(staged.code, staged.stdout + staged.stderr).toBe(EXIT.deployFailed);
      expect(staged.stdout).toMatch(/analysis failed/);
    } finally {
      const report = await load.stop();
      // The only failures a user saw are v5's own 500s, during its canary.
      expect(report.resets + report.timeouts + report.lost, failuresOf(report)).toBe(0);
    }
    expect((await baton('approve', 'v5', '--env', 'production')).code).toBe(EXIT.ok);
    const refused = await baton('promote', 'v5', '--to', 'production');
    expect(refused.code, refused.stdout + refused.stderr).toBe(EXIT.refused);
    expect(refused.stdout).toMatch(/Gate previous-environment: fail — v5 did not pass staging: its deploy there was rolled back \(analysis failed/);
    expect(refused.stdout).toMatch(/Gate soak: fail — v5 never served in staging/);
    expect(running('production')).toEqual(['v4']);
  });

  it('rollback --to a named release runs its artifact exactly; history says what ran, when, how and by whom', async () => {
    const back = await baton('rollback', '--env', 'production', '--to', 'v1');
    expect(back.code, back.stdout + back.stderr).toBe(EXIT.ok);
    const stable = state('production').stable;
    expect(stable?.version).toBe('v1');
    expect(stable?.artifact?.digest).toBe(await registryDigest('v1'));
    // The bytes: v1's bundle, not the checkout (which holds v5 now).
    expect(readFileSync(join(stable?.artifact?.location as string, 'VERSION'), 'utf8')).toBe('v1\n');
    expect(running('production')).toEqual(['v1']);

    const never = await baton('rollback', '--env', 'production', '--to', 'v2');
    expect(never.code).toBe(EXIT.usage);
    expect(never.stderr).toContain('v2 never served production');

    const listed = await baton('history', '--env', 'production');
    expect(listed.code).toBe(EXIT.ok);
    const lines = listed.stdout.split('\n');
    expect(lines[0]).toContain('orders in production: last successful deploy v1');
    const json = JSON.parse((await baton('history', '--env', 'production', '--json')).stdout) as { entries: HistoryEntry[] };
    expect(json.entries.map((entry) => `${entry.release} ${entry.via} ${entry.outcome}`)).toEqual([
      'v1 rollback succeeded',
      'v5 promote refused',
      'v4 promote succeeded',
      'v3 promote succeeded',
      'v4 promote refused',
      'v1 promote succeeded',
      'v1 promote refused',
    ]);
    // Where each release is, environment by environment.
    const releases = (await baton('releases')).stdout.split('\n');
    expect(releases.find((line) => line.startsWith('v1 '))).toMatch(/production: serving, instances: 2 running$/);
    expect(releases.find((line) => line.startsWith('v4 '))).toMatch(/staging: serving, instances: 1 running; production: previous$/);
    // Without --env, status shows every environment.
    const every = await baton('status');
    expect(every.stdout).toContain('orders in staging: stable v4');
    expect(every.stdout).toContain('orders in production: stable v1');
  });
});

describe("the example service's pipeline (examples/orders-express/baton.config.ts, shown in its README)", () => {
  it('resolves to staging, then production behind the gates the README lists', async () => {
    const exampleDir = fileURLToPath(new URL('../../../examples/orders-express', import.meta.url));
    const { config } = await loadConfigFile(exampleDir);
    const staging = resolveDeployConfig(config, { cwd: exampleDir, environment: 'staging' });
    const production = resolveDeployConfig(config, { cwd: exampleDir, environment: 'production' });
    expect(staging.pipeline).toEqual(['staging', 'production']);
    expect(staging.previousEnvironment).toBeUndefined();
    expect(production.previousEnvironment).toBe('staging');
    expect(staging.gates).toMatchObject({ contracts: { provider: 'orders-service' }, migrations: { dir: 'node_modules/@baton/example-orders-domain/migrations' }, approval: false });
    expect(staging.gates.soak).toBeUndefined();
    expect(production.gates).toMatchObject({ contracts: { provider: 'orders-service' }, soak: { durationMs: 1_800_000 }, approval: true });
    expect(production.instances).toBe(3);
    // The same artifact everywhere: one bundle root, the production install.
    expect(production.release.bundle?.root).toBe(join(exampleDir, 'build'));
    expect(staging.release.bundle).toEqual(production.release.bundle);
  });
});

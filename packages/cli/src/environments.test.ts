// The CLI's environment commands in-process, on a config with environments in
// a temp dir and nothing deployed: usage mistakes refused with exit 2 and a
// message saying what to type, fresh environments described, refusals before
// anything starts. Deploys and promotions that run instances are covered end
// to end in test/src/deploy/pipeline.test.ts.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from './index.js';
import { inProcessCli } from './in-process.test.fixtures.js';

let dir: string;
beforeEach(async () => {
  // Short: a router's unix socket lives under the state directory.
  dir = await mkdtemp(join(tmpdir(), 'bce-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = inProcessCli(() => dir);

const release = { version: 'v1', command: process.execPath, args: ['main.js'] };

async function writeConfig(extra: Record<string, unknown> = {}): Promise<void> {
  const config = {
    service: 'orders',
    stateDir: 's',
    release,
    router: { kind: 'builtin' },
    environments: { staging: { instances: 1 }, production: { instances: 2, gates: { approval: true } } },
    ...extra,
  };
  await writeFile(join(dir, 'baton.config.json'), JSON.stringify(config));
}

describe('baton with environments: usage', () => {
  beforeEach(async () => {
    await writeConfig();
  });

  it('refuses a deploy (or history, rollback, down) without --env, naming the environments', async () => {
    for (const command of ['deploy', 'history', 'rollback', 'down']) {
      const result = await cli(command);
      expect(result.code, command).toBe(EXIT.usage);
      expect(result.stderr).toBe(`baton ${command}: the config declares environments (staging, production): say which with --env <name>, e.g. baton ${command} --env staging.\n`);
    }
  });

  it('refuses promote with a version and no --to, or --to and no version', async () => {
    const hint = 'promote a release with baton promote <version> --to <environment>, e.g. baton promote v2 --to production.';
    const noTo = await cli('promote', 'v2');
    expect(noTo.code).toBe(EXIT.usage);
    expect(noTo.stderr).toBe(`baton promote: ${hint}\n`);
    const noVersion = await cli('promote', '--to', 'production');
    expect(noVersion.code).toBe(EXIT.usage);
    expect(noVersion.stderr).toBe(`baton promote: ${hint}\n`);
  });

  it('refuses promote with --env beside --to, saying --to is the environment', async () => {
    const result = await cli('promote', 'v2', '--to', 'production', '--env', 'x');
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toBe('baton promote: the environment to promote to is --to production; --env is not used with it.\n');
  });

  it('refuses approve without --env (or without a version)', async () => {
    const noEnv = await cli('approve', 'v2');
    expect(noEnv.code).toBe(EXIT.usage);
    expect(noEnv.stderr).toBe('baton approve: the config declares environments (staging, production): say which with --env <name>, e.g. baton approve v2 --env staging.\n');
    const noVersion = await cli('approve', '--env', 'production');
    expect(noVersion.code).toBe(EXIT.usage);
    expect(noVersion.stderr).toBe('baton approve: approve a release with baton approve <version> [--env <environment>], e.g. baton approve v2 --env production.\n');
  });

  it('refuses --to on deploy, saying what it is for', async () => {
    const result = await cli('deploy', '--env', 'staging', '--to', 'v1');
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toBe('baton deploy: --to is for baton rollback --to <version> and baton promote <version> --to <environment>.\n');
  });

  it('refuses a --limit that is not a whole number from 1, and --limit anywhere but history', async () => {
    for (const limit of ['0', '-1', 'ten', '1.5']) {
      const result = await cli('history', '--env', 'staging', `--limit=${limit}`);
      expect(result.code, limit).toBe(EXIT.usage);
      expect(result.stderr).toBe(`baton history: --limit: a whole number from 1; got ${JSON.stringify(limit)}.\n`);
    }
    const status = await cli('status', '--limit', '3');
    expect(status.code).toBe(EXIT.usage);
    expect(status.stderr).toBe('baton status: --limit is for baton history.\n');
    expect((await cli('history', '--env', 'staging', '--limit', '5')).code).toBe(EXIT.ok);
  });

  it('refuses two positionals where one is taken, and any where none is', async () => {
    const promote = await cli('promote', 'v2', 'v3', '--to', 'production');
    expect(promote.code).toBe(EXIT.usage);
    expect(promote.stderr).toBe('baton promote: unexpected arguments "v2" "v3".\n');
    const approve = await cli('approve', 'v2', 'v3', '--env', 'production');
    expect(approve.code).toBe(EXIT.usage);
    expect(approve.stderr).toBe('baton approve: unexpected arguments "v2" "v3".\n');
    const deploy = await cli('deploy', 'v2', '--env', 'staging');
    expect(deploy.code).toBe(EXIT.usage);
    expect(deploy.stderr).toBe('baton deploy: unexpected argument "v2".\n');
  });

  it('refuses an environment the config does not declare, listing the ones it does', async () => {
    const result = await cli('status', '--env', 'qa');
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toBe('baton status: There is no environment "qa": the config declares staging, production.\n');
    const promote = await cli('promote', 'v1', '--to', 'qa');
    expect(promote.code).toBe(EXIT.usage);
    expect(promote.stderr).toContain('There is no environment "qa": the config declares staging, production.');
  });
});

describe('baton with environments: a fresh service', () => {
  beforeEach(async () => {
    await writeConfig();
  });

  it('history of an environment says no deploy yet; --json gives an empty list', async () => {
    const text = await cli('history', '--env', 'staging');
    expect(text.code).toBe(EXIT.ok);
    expect(text.stdout).toBe('orders in staging: no deploy yet.\n');
    expect(text.stderr).toBe('');
    const json = await cli('history', '--env', 'staging', '--json');
    expect(json.code).toBe(EXIT.ok);
    expect(JSON.parse(json.stdout)).toEqual({ service: 'orders', environment: 'staging', entries: [], unreadable: [] });
  });

  it('status without --env describes every environment, in pipeline order', async () => {
    const text = await cli('status');
    expect(text.code).toBe(EXIT.ok);
    expect(text.stdout).toContain(`orders in staging: nothing deployed yet  (state in ${join(dir, 's', 'env', 'staging')})`);
    expect(text.stdout).toContain(`orders in production: nothing deployed yet  (state in ${join(dir, 's', 'env', 'production')})`);
    expect(text.stdout.indexOf('orders in staging')).toBeLessThan(text.stdout.indexOf('orders in production'));

    const json = await cli('status', '--json');
    expect(json.code).toBe(EXIT.ok);
    const status = JSON.parse(json.stdout) as { service: string; pipeline: string[]; environments: Record<string, { environment: string; stateDir: string; instances: unknown[] }> };
    expect(status.service).toBe('orders');
    expect(status.pipeline).toEqual(['staging', 'production']);
    expect(Object.keys(status.environments)).toEqual(['staging', 'production']);
    expect(status.environments['staging']).toMatchObject({ environment: 'staging', stateDir: join(dir, 's', 'env', 'staging'), instances: [] });
    expect(status.environments['production']).toMatchObject({ environment: 'production', stateDir: join(dir, 's', 'env', 'production'), instances: [] });
  });

  it('status of one environment with --env', async () => {
    const json = await cli('status', '--env', 'production', '--json');
    expect(json.code).toBe(EXIT.ok);
    expect(JSON.parse(json.stdout)).toMatchObject({ service: 'orders', environment: 'production', instances: [] });
  });

  it('refuses to approve a version never released (exit 2), recording nothing', async () => {
    const result = await cli('approve', 'v9', '--env', 'production');
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toBe('baton approve: v9 was never released, so there is nothing to approve (see baton releases).\n');
    expect(existsSync(join(dir, 's', 'approvals'))).toBe(false);
  });

  it('approves a recorded release once, and says so when it is approved again', async () => {
    expect((await cli('release', 'create')).code).toBe(EXIT.ok);
    const first = await cli('approve', 'v1', '--env', 'production');
    expect(first.code, first.stderr).toBe(EXIT.ok);
    expect(first.stdout).toMatch(/^Approved v1 \(unpinned\) for production as .+@.+\.\n$/);
    const again = await cli('approve', 'v1', '--env', 'production', '--json');
    expect(again.code).toBe(EXIT.ok);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, approval: { version: 'v1', environment: 'production' } });
    // Staging has no approval gate: the user is told nothing waits for it.
    const staging = await cli('approve', 'v1', '--env', 'staging');
    expect(staging.stdout).toContain('note: staging has no approval gate (gates.approval), so no promotion waits for this approval.');
  });

  it('refuses to promote to the pipeline’s first environment (exit 2), saying to deploy there', async () => {
    expect((await cli('release', 'create')).code).toBe(EXIT.ok);
    const result = await cli('promote', 'v1', '--to', 'staging');
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toBe('baton promote: staging is the first environment of the pipeline (staging → production): there is nothing to promote from. Deploy to it with baton deploy --env staging.\n');
  });

  it('says nothing about promoting from "(no previous environment)" before refusing a promotion to the first environment', async () => {
    const result = await cli('promote', 'v1', '--to', 'staging');
    expect(result.code).toBe(EXIT.usage);
    expect(result.stdout).not.toContain('(no previous environment)');
  });

  it('refuses a rollback to a release that never served, clearly, with nothing started', async () => {
    try {
      const result = await cli('rollback', '--env', 'production', '--to', 'v1');
      expect(result.code).toBe(EXIT.usage);
      expect(result.stderr).toBe('baton rollback: v1 never served production, so there is nothing of it to go back to. To run it here, deploy it (baton promote v1 --to production).\n');
      // A refusal starts nothing: no router left running in production.
      expect(result.stdout).not.toContain('Router:');
      expect(existsSync(join(dir, 's', 'env', 'production', 'router-kind'))).toBe(false);
    } finally {
      // Take down whatever the refused rollback started.
      await cli('down', '--env', 'production');
    }
  });
});

describe('baton without environments: the approval gate', () => {
  it('can be satisfied: the approval a deploy asks for can be given', async () => {
    await writeFile(join(dir, 'baton.config.json'), JSON.stringify({ service: 'orders', stateDir: 's', release, gates: { approval: true } }));
    expect((await cli('release', 'create')).code).toBe(EXIT.ok);
    // The gate tells the user to run `baton approve v1 --env orders`; plain `baton approve v1` would do as well.
    const withEnv = await cli('approve', 'v1', '--env', 'orders');
    const plain = await cli('approve', 'v1');
    expect([withEnv.code, plain.code], `${withEnv.stderr}${plain.stderr}`).toContain(EXIT.ok);
  });
});

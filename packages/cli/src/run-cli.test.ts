// The CLI in-process, on real files: usage errors, config loading (JSON and
// TypeScript through jiti), and commands that must refuse with a clear
// message and the documented exit code. Deploys themselves are covered end
// to end in test/src/deploy (the CLI as a child process, under load).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from './index.js';
import { inProcessCli } from './in-process.test.fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = inProcessCli(() => dir);

const release = { version: 'v1', command: process.execPath, args: ['main.js'] };

describe('baton', () => {
  it('prints its usage, with exit code 2 when no command is given and 0 when asked', async () => {
    const none = await cli();
    expect(none.code).toBe(EXIT.usage);
    expect(none.stdout).toContain('Usage: baton <command>');
    expect((await cli('--help')).code).toBe(EXIT.ok);
    expect((await cli('deploy', '--help')).stdout).toContain('Exit codes: 0 done, 1 the deploy failed and was rolled back');
  });

  it('refuses an unknown command or option, naming it', async () => {
    const unknown = await cli('launch');
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toContain('baton: unknown command "launch"; one of deploy, status, history, promote, approve, abort, rollback, down, release create, releases, migrations, k8s render.');
    const option = await cli('deploy', '--canary');
    expect(option.code).toBe(EXIT.usage);
    expect(option.stderr).toContain("Unknown option '--canary'");
  });

  it('says where it looked when there is no config, and which file is not JSON', async () => {
    const missing = await cli('status');
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain(`No deploy config found in ${dir}: create one of baton.config.ts, baton.config.mts, baton.config.js, baton.config.mjs, baton.config.json, or pass --config <file>.`);
    await writeFile(join(dir, 'baton.config.json'), '{ "service": "orders", ');
    const broken = await cli('status');
    expect(broken.code).toBe(EXIT.usage);
    expect(broken.stderr).toContain(`${join(dir, 'baton.config.json')} is not valid JSON`);
  });

  it('reports every invalid field of the config at once, before anything starts', async () => {
    await writeFile(join(dir, 'deploy.json'), JSON.stringify({ service: 'orders', instances: 0, release, strategy: { type: 'canary', steps: [] } }));
    const result = await cli('deploy', '--config', 'deploy.json');
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('instances: an integer from 1 to 64; got 0');
    expect(result.stderr).toContain('strategy.steps: a non-empty array');
  });

  it('loads a TypeScript config without a build step', async () => {
    await writeFile(
      join(dir, 'baton.config.ts'),
      `import { defineDeployConfig, type DeployConfig } from '@baton/deploy';
const instances: number = 2;
const config: DeployConfig = defineDeployConfig({ service: 'orders-ts', instances, release: ${JSON.stringify(release)}, stateDir: 'state' });
export default config;
`,
    );
    const status = await cli('status', '--json');
    expect(status.stderr).toBe('');
    expect(status.code).toBe(EXIT.ok);
    expect(JSON.parse(status.stdout)).toMatchObject({ service: 'orders-ts', stateDir: join(dir, 'state'), instances: [] });
    const text = await cli('status');
    expect(text.stdout).toContain('orders-ts: nothing deployed yet');
    expect(text.stdout).toContain('router: none running (baton deploy starts one, on router.port or else a free port)');
  });

  it('the built baton, run in a project with no @baton/deploy of its own, loads a TypeScript config that imports it', async () => {
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'orders', type: 'module', private: true }));
    await writeFile(
      join(dir, 'baton.config.ts'),
      `import { defineDeployConfig } from '@baton/deploy';
export default defineDeployConfig({ service: 'orders-out', release: ${JSON.stringify(release)}, stateDir: 'state' });
`,
    );
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    // As a user's shell runs it: without the NODE_PATH pnpm's shim for vitest sets, which reaches the workspace's packages.
    const { NODE_PATH: _workspace, ...env } = process.env;
    const child = spawnSync(process.execPath, [main, 'status'], { cwd: dir, encoding: 'utf8', env });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(EXIT.ok);
    expect(child.stdout).toContain('orders-out: nothing deployed yet');
  });

  it('refuses promote, abort and rollback when there is nothing to act on, with exit code 3', async () => {
    await writeFile(join(dir, 'baton.config.json'), JSON.stringify({ service: 'orders', release, stateDir: 'state' }));
    for (const command of ['promote', 'abort'] as const) {
      const result = await cli(command);
      expect(result.code).toBe(EXIT.error);
      expect(result.stderr).toContain(`There is no deploy of orders in progress to ${command}.`);
    }
  });

  it('checks migrations through @baton/migrations: a DROP COLUMN is refused with its file and line, an expand passes', async () => {
    const migrations = join(dir, 'migrations');
    await import('node:fs/promises').then(({ mkdir }) => mkdir(migrations));
    await writeFile(join(migrations, '0001_expand.sql'), "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\nALTER TABLE orders ADD COLUMN note text;\n");
    const passing = await cli('migrations', 'check', migrations);
    expect(passing.stderr).toBe('');
    expect(passing.code).toBe(0);
    await writeFile(join(migrations, '0002_drop.sql'), "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\nALTER TABLE orders DROP COLUMN customer;\n");
    const refused = await cli('migrations', 'check', migrations);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/0002_drop\.sql:3:\d+/);
    expect(refused.stdout).toContain('drop-column');
  });
});

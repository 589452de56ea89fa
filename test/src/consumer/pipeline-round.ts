// A pipeline from the packed packages: `npx baton` in a user's project with
// two environments and the migrations gate, which @baton/deploy loads from
// the project's own @baton/migrations (an optional peer) — the contract step
// refused in production while v1 runs there, before anything starts.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveDeployConfig, stopService } from '@baton/deploy';
import { runCommand } from './commands.js';
import type { CliStep } from './deploy-scenario.js';

/** What the round saw. */
export interface PipelineRound {
  steps: CliStep[];
  /** `baton history --env production --json`'s entries, newest first: `release via outcome`. */
  productionHistory?: string[];
}

const TIMEOUTS = "SET lock_timeout = '2s';\nSET statement_timeout = '5s';\n";

/**
 * In `dir` (inside the project that installed every package): staging and
 * production of the app `entry`, one instance each behind the built-in
 * router; v1 promoted, then v3 with a contract migration refused while v1
 * serves production. Every environment is taken down at the end.
 */
export async function pipelineRound(dir: string, entry: string): Promise<PipelineRound> {
  const round: PipelineRound = { steps: [] };
  await mkdir(join(dir, 'migrations'), { recursive: true });
  await writeFile(join(dir, 'migrations', '001_greetings.sql'), `${TIMEOUTS}CREATE TABLE greetings (id bigint PRIMARY KEY, text text);\n`);
  const config = {
    service: 'hello-pipeline',
    release: { version: 'v1', command: 'node', args: [entry] },
    instances: 1,
    router: { kind: 'builtin' },
    gates: { migrations: { dir: 'migrations' } },
    environments: { staging: {}, production: {} },
  };
  await writeFile(join(dir, 'baton.config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const baton = async (...args: string[]): Promise<CliStep> => {
    const result = await runCommand('npx', ['--no', 'baton', ...args], { cwd: dir, timeoutMs: 180_000 });
    const step = { command: `npx baton ${args.join(' ')}`, result };
    round.steps.push(step);
    return step;
  };
  try {
    await baton('deploy', '--env', 'staging');
    await baton('promote', 'v1', '--to', 'production');
    await baton('deploy', '--env', 'staging', '--release', 'v2');
    // v3 drops what v1 reads: a contract step, safe only once nothing before v2 runs.
    await writeFile(join(dir, 'migrations', '002_drop_text.sql'), `-- baton:contract unused-since=v2\n${TIMEOUTS}ALTER TABLE greetings DROP COLUMN text;\n`);
    await baton('deploy', '--env', 'staging', '--release', 'v3');
    await baton('promote', 'v3', '--to', 'production');
    const history = await baton('history', '--env', 'production', '--json');
    const entries = (JSON.parse(history.result.stdout || '{"entries":[]}') as { entries: { release: string; via: string; outcome: string }[] }).entries;
    round.productionHistory = entries.map((entry) => `${entry.release} ${entry.via} ${entry.outcome}`);
    return round;
  } finally {
    for (const environment of ['staging', 'production']) {
      const down = await baton('down', '--env', environment);
      // Cleanup only: if the packed CLI could not, the workspace's library takes it down.
      if (down.result.code !== 0) await stopService(resolveDeployConfig(config, { cwd: dir, environment })).catch(() => undefined);
    }
  }
}

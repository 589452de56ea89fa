import type { ResolvedDeployConfig } from '@baton/deploy';
import type { CliIo } from './run-cli.js';

type Deploy = typeof import('@baton/deploy');

/** `baton status` of a config with environments and no `--env`: every environment's, in pipeline order. */
export async function runStatusOfEvery(deploy: Deploy, config: ResolvedDeployConfig, resolveFor: (environment: string) => ResolvedDeployConfig, io: CliIo, json: boolean): Promise<number> {
  const order = [...config.pipeline, ...config.environments.filter((name) => !config.pipeline.includes(name))];
  const statuses: Record<string, import('@baton/deploy').ServiceStatus> = {};
  for (const name of order) statuses[name] = await deploy.readStatus(resolveFor(name));
  if (json) io.stdout.write(`${JSON.stringify({ service: config.service, pipeline: config.pipeline, environments: statuses }, null, 2)}\n`);
  else io.stdout.write(order.map((name) => deploy.formatStatus(statuses[name] as import('@baton/deploy').ServiceStatus)).join('\n'));
  return 0;
}

/** `baton history --env <name>`: the environment's deploys and refusals, newest first. */
export async function runHistory(deploy: Deploy, config: ResolvedDeployConfig, io: CliIo, json: boolean, limit: number | undefined): Promise<void> {
  const listing = await deploy.readHistory(config);
  const shown = limit === undefined ? listing : { ...listing, entries: listing.entries.slice(0, limit) };
  io.stdout.write(json ? `${JSON.stringify(shown, null, 2)}\n` : deploy.formatHistory(listing, limit === undefined ? {} : { limit }));
  for (const problem of listing.unreadable) io.stderr.write(`baton history: warning: ${problem}\n`);
}

/** `baton approve <version> --env <name>`: records the approval (once), and says when nothing waits for it. */
export async function runApprove(deploy: Deploy, config: ResolvedDeployConfig, version: string, io: CliIo, json: boolean): Promise<void> {
  const { approval, created, gateOn } = await deploy.approveRelease(config, version, { env: io.env });
  if (json) {
    io.stdout.write(`${JSON.stringify({ created, approval }, null, 2)}\n`);
    return;
  }
  const artifact = approval.digest === undefined ? 'unpinned' : `artifact ${deploy.shortDigest(approval.digest)}`;
  const when = `${new Date(approval.atMs).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  io.stdout.write(
    created
      ? `Approved ${version} (${artifact}) for ${approval.environment} as ${approval.by.user}@${approval.by.host}.\n`
      : `${version} was approved for ${approval.environment} already, by ${approval.by.user}@${approval.by.host} on ${when} (${artifact}); that approval stands.\n`,
  );
  if (!gateOn) io.stdout.write(`note: ${approval.environment} has no approval gate (gates.approval), so no promotion waits for this approval.\n`);
}

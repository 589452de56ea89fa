import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import { createExclusive } from '../internal/exclusive-file.js';
import { ensurePrivateDir } from '../internal/private-dir.js';

/** A person's approval of one release (one artifact) for one environment: `baton approve v2 --env production`. */
export interface Approval {
  version: string;
  environment: string;
  /** The artifact approved (`sha256:…`); undefined for a release that runs in place, unpinned. */
  digest?: string;
  by: { user: string; host: string };
  atMs: number;
}

/** Where approvals live: `<service dir>/approvals/<environment>/<version>.json`, written once each. */
export function approvalFile(serviceDir: string, environment: string, version: string): string {
  return join(serviceDir, 'approvals', environment, `${version}.json`);
}

/** Records `approval`; an approval of the same release for the same environment that exists already stands, and is returned instead. */
export async function recordApproval(serviceDir: string, approval: Approval): Promise<{ approval: Approval; created: boolean }> {
  const file = approvalFile(serviceDir, approval.environment, approval.version);
  await ensurePrivateDir(join(serviceDir, 'approvals'), () => true);
  await ensurePrivateDir(join(serviceDir, 'approvals', approval.environment), () => true);
  if (await createExclusive(file, `${JSON.stringify(approval, null, 2)}\n`)) return { approval, created: true };
  const existing = await readApproval(serviceDir, approval.environment, approval.version);
  if (existing === undefined) throw new BatonError('BATON_ERR_RELEASE', `The approval ${file} vanished while it was being written; try again.`);
  return { approval: existing, created: false };
}

/** The approval of `version` for `environment`, or undefined; a file that is not an approval is a clear error naming it. */
export async function readApproval(serviceDir: string, environment: string, version: string): Promise<Approval | undefined> {
  const file = approvalFile(serviceDir, environment, version);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BatonError('BATON_ERR_RELEASE', `The approval ${file} cannot be read: ${(error as Error).message}. Move it away and approve again.`, { cause: error });
  }
  const approval = value as Partial<Approval>;
  if (approval.version !== version || approval.environment !== environment || typeof approval.atMs !== 'number' || typeof approval.by?.user !== 'string' || typeof approval.by.host !== 'string' || (approval.digest !== undefined && typeof approval.digest !== 'string')) {
    throw new BatonError('BATON_ERR_RELEASE', `The approval ${file} is not an approval of ${version} for ${environment}. Move it away and approve again.`);
  }
  return approval as Approval;
}

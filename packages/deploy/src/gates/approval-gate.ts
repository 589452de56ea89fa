import { approvalFile, readApproval } from '../environments/approvals.js';
import { formatReleaseTime, shortDigest } from '../releases/release-record.js';
import type { GateResult } from './gate.js';

/** `approval`: someone approved this release — this very artifact — for the environment (`baton approve <version> --env <environment>`). */
export async function checkApproval(enabled: boolean, question: { serviceDir: string; version: string; digest: string | undefined; environment: string }): Promise<GateResult> {
  const gate = 'approval';
  const { version, environment } = question;
  if (!enabled) return { gate, status: 'skipped', summary: `not configured for ${environment}.`, evidence: [] };
  let approval;
  try {
    approval = await readApproval(question.serviceDir, environment, version);
  } catch (error) {
    return { gate, status: 'fail', summary: error instanceof Error ? error.message : String(error), evidence: [] };
  }
  if (approval === undefined) return { gate, status: 'fail', summary: `nobody approved ${version} for ${environment} yet: baton approve ${version} --env ${environment}.`, evidence: [] };
  const evidence = [`Approved by ${approval.by.user}@${approval.by.host} on ${formatReleaseTime(approval.atMs)}${approval.digest === undefined ? '' : ` (artifact ${shortDigest(approval.digest)})`}.`];
  const data = { by: approval.by, atMs: approval.atMs, ...(approval.digest === undefined ? {} : { digest: approval.digest }) };
  if (approval.digest !== question.digest) {
    // Approvals are written once: the stale one has to go before this artifact can be approved.
    const file = approvalFile(question.serviceDir, environment, version);
    return { gate, status: 'fail', summary: `the approval of ${version} for ${environment} was for another artifact (${approval.digest === undefined ? 'unpinned' : shortDigest(approval.digest)}); move ${file} away, then approve this one.`, evidence, data };
  }
  return { gate, status: 'pass', summary: `${version} was approved for ${environment} by ${approval.by.user}@${approval.by.host}.`, evidence, data };
}

// The approval gate on a real service directory: a person approved this very
// artifact for the environment, or the gate says who must run what.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approvalFile, recordApproval, type Approval } from '../environments/approvals.js';
import { checkApproval } from './approval-gate.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const AT = Date.UTC(2026, 11, 7, 12, 30);

let serviceDir: string;
beforeEach(async () => {
  serviceDir = await mkdtemp(join(tmpdir(), 'baton-approval-'));
});
afterEach(async () => {
  await rm(serviceDir, { recursive: true, force: true });
});

function approval(extra: Partial<Approval> = {}): Approval {
  return { version: 'v2', environment: 'production', digest: DIGEST, by: { user: 'ann', host: 'laptop' }, atMs: AT, ...extra };
}

const check = (digest: string | undefined = DIGEST, enabled = true): ReturnType<typeof checkApproval> => checkApproval(enabled, { serviceDir, version: 'v2', digest, environment: 'production' });

describe('checkApproval', () => {
  it('is skipped when the environment asks for no approval, even with none recorded', async () => {
    expect(await check(DIGEST, false)).toEqual({ gate: 'approval', status: 'skipped', summary: 'not configured for production.', evidence: [] });
  });

  it('refuses a release nobody approved, naming the command that approves it', async () => {
    // An approval for another environment, or of another version, is not one for this.
    await recordApproval(serviceDir, approval({ environment: 'staging' }));
    await recordApproval(serviceDir, approval({ version: 'v1' }));
    expect(await check()).toEqual({ gate: 'approval', status: 'fail', summary: 'nobody approved v2 for production yet: baton approve v2 --env production.', evidence: [] });
  });

  it('refuses an approval of another artifact, saying which', async () => {
    await recordApproval(serviceDir, approval({ digest: OTHER }));
    const result = await check();
    expect(result.status).toBe('fail');
    expect(result.summary).toBe(`the approval of v2 for production was for another artifact (sha256:bbbbbbbbbbbb); move ${approvalFile(serviceDir, 'production', 'v2')} away, then approve this one.`);
    expect(result.evidence).toEqual(['Approved by ann@laptop on 2026-12-07 12:30 UTC (artifact sha256:bbbbbbbbbbbb).']);
    expect(result.data).toEqual({ by: { user: 'ann', host: 'laptop' }, atMs: AT, digest: OTHER });
  });

  it('refuses an approval of the release unpinned for a pinned artifact', async () => {
    const { digest: _digest, ...unpinned } = approval();
    await recordApproval(serviceDir, unpinned);
    const result = await check();
    expect(result.status).toBe('fail');
    expect(result.summary).toBe(`the approval of v2 for production was for another artifact (unpinned); move ${approvalFile(serviceDir, 'production', 'v2')} away, then approve this one.`);
  });

  it('can be passed by doing what its refusal of another artifact says', async () => {
    const { rm: remove } = await import('node:fs/promises');
    await recordApproval(serviceDir, approval({ digest: OTHER }));
    const refusal = (await check()).summary;
    // Approvals are written once: approving again keeps the stale one, so the refusal says to move it away first.
    expect((await recordApproval(serviceDir, approval({ by: { user: 'bob', host: 'ci' } }))).created).toBe(false);
    const file = approvalFile(serviceDir, 'production', 'v2');
    expect(refusal).toContain(`move ${file} away, then approve this one`);
    await remove(file);
    expect((await recordApproval(serviceDir, approval({ by: { user: 'bob', host: 'ci' } }))).created).toBe(true);
    expect((await check()).status).toBe('pass');
  });

  it('passes an approval of this very artifact, saying who approved it and when', async () => {
    await recordApproval(serviceDir, approval());
    expect(await check()).toEqual({
      gate: 'approval',
      status: 'pass',
      summary: 'v2 was approved for production by ann@laptop.',
      evidence: ['Approved by ann@laptop on 2026-12-07 12:30 UTC (artifact sha256:aaaaaaaaaaaa).'],
      data: { by: { user: 'ann', host: 'laptop' }, atMs: AT, digest: DIGEST },
    });
  });

  it('passes an approval of an unpinned release run unpinned', async () => {
    const { digest: _digest, ...unpinned } = approval();
    await recordApproval(serviceDir, unpinned);
    const result = await checkApproval(true, { serviceDir, version: 'v2', digest: undefined, environment: 'production' });
    expect(result.status).toBe('pass');
    expect(result.evidence).toEqual(['Approved by ann@laptop on 2026-12-07 12:30 UTC.']);
  });

  it('fails clearly on an approval file that is not JSON, naming it and what to do', async () => {
    const file = approvalFile(serviceDir, 'production', 'v2');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '{"version":"v2","envir');
    const result = await check();
    expect(result.status).toBe('fail');
    expect(result.summary).toContain(`The approval ${file} cannot be read:`);
    expect(result.summary).toContain('Move it away and approve again.');
  });

  it('fails clearly on an approval file that is not an approval of this release for this environment', async () => {
    const file = approvalFile(serviceDir, 'production', 'v2');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(approval({ version: 'v3' })));
    const result = await check();
    expect(result).toEqual({ gate: 'approval', status: 'fail', summary: `The approval ${file} is not an approval of v2 for production. Move it away and approve again.`, evidence: [] });
  });
});

// Real files in a temp dir; the verification results are built by hand here
// (verify-provider.test.ts writes a record from a real Pact verifier run).
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBatonError, type BatonError } from '@baton/lifecycle';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readVerificationRecord, writeVerificationRecord, type VerificationRecord, type VerificationResult } from './index.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-record-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PACT = {
  consumer: { name: 'orders-web' },
  provider: { name: 'orders' },
  interactions: [{ description: 'a request for an order', request: { method: 'GET', path: '/orders/o1' }, response: { status: 200 } }],
  metadata: { pactSpecification: { version: '3.0.0' } },
};

const passed: VerificationResult = {
  passed: true,
  interactions: [
    { consumer: 'orders-web', description: 'a request for an order', status: 'passed', failures: [] },
    { consumer: 'orders-mobile', description: 'a listing', status: 'failed', pending: true, failures: ['BodyMismatch at $: expected an array'] },
  ],
  summary: '',
  raw: { result: true },
};

const failed: VerificationResult = {
  passed: false,
  interactions: [
    { consumer: 'orders-web', description: 'a request for an order', status: 'failed', failures: ['BodyMismatch at $: Actual map is missing the following keys: total'] },
    { consumer: undefined, description: 'a listing', status: 'passed', failures: [] },
  ],
  summary: '1 of 2 interaction(s) failed: ...',
  raw: { result: false },
};

async function rejection(promise: Promise<unknown>): Promise<BatonError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(isBatonError(error), String(error)).toBe(true);
  return error as BatonError;
}

describe('writeVerificationRecord', () => {
  it('writes a record a reader gets back as written, with each local pact file hashed, creating the directory', async () => {
    const pactFile = join(dir, 'orders-web-orders.json');
    const bytes = JSON.stringify(PACT);
    await writeFile(pactFile, bytes);
    const file = join(dir, 'verification', 'nested', 'v2.json');

    const written = await writeVerificationRecord(passed, file, {
      provider: 'orders',
      providerVersion: 'v2',
      providerBranch: 'main',
      pacts: { files: [pactFile] },
      verifiedAt: new Date('2026-12-07T10:00:00Z'),
    });

    const expected: VerificationRecord = {
      formatVersion: 1,
      provider: 'orders',
      providerVersion: 'v2',
      providerBranch: 'main',
      verifiedAt: '2026-12-07T10:00:00.000Z',
      passed: true,
      counts: { interactions: 2, passed: 1, failed: 0, pendingFailed: 1 },
      interactions: [
        { consumer: 'orders-web', description: 'a request for an order', status: 'passed', pending: false, failures: [] },
        { consumer: 'orders-mobile', description: 'a listing', status: 'failed', pending: true, failures: ['BodyMismatch at $: expected an array'] },
      ],
      pacts: [{ file: pactFile, sha256: createHash('sha256').update(bytes).digest('hex'), consumer: 'orders-web' }],
      summary: '',
    };
    expect(written).toEqual(expected);
    expect(await readVerificationRecord(file)).toEqual(expected);
    // Readable JSON for people too, and nothing else left beside it.
    expect(await readFile(file, 'utf8')).toMatch(/^\{\n {2}"formatVersion": 1,\n/);
    expect(await readdir(join(dir, 'verification', 'nested'))).toEqual(['v2.json']);
  });

  it('replaces an older record whole, and lists every file of a pact directory', async () => {
    await writeFile(join(dir, 'b.json'), JSON.stringify({ ...PACT, consumer: { name: 'b' } }));
    await writeFile(join(dir, 'a.json'), JSON.stringify({ ...PACT, consumer: { name: 'a' } }));
    const file = join(dir, 'out', 'record.json');
    await writeVerificationRecord(passed, file, { provider: 'orders', providerVersion: 'v1' });
    await writeVerificationRecord(failed, file, { provider: 'orders', providerVersion: 'v2', pacts: { dir } });

    const record = await readVerificationRecord(file);
    expect(record.providerVersion).toBe('v2');
    expect(record.passed).toBe(false);
    expect(record.counts).toEqual({ interactions: 2, passed: 1, failed: 1, pendingFailed: 0 });
    expect(record.interactions[1]?.consumer).toBeNull();
    expect(record.pacts.map((p) => ('file' in p ? [p.file, p.consumer] : p.brokerUrl))).toEqual([
      [join(dir, 'a.json'), 'a'],
      [join(dir, 'b.json'), 'b'],
    ]);
    expect(await readdir(join(dir, 'out'))).toEqual(['record.json']);
  });

  it('keeps a broker source as its URL, without the credentials or query it may carry', async () => {
    const file = join(dir, 'r.json');
    const record = await writeVerificationRecord(passed, file, {
      provider: 'orders',
      providerVersion: 'v2',
      pacts: { brokerUrl: 'https://ci:s3cret@broker.example.com/pacts?token=t0ken', token: 'abc' },
    });
    expect(record.pacts).toEqual([{ brokerUrl: 'https://broker.example.com/pacts' }]);
    const text = await readFile(file, 'utf8');
    expect(text).not.toMatch(/s3cret|t0ken|abc/);
  });

  it('refuses a record without a provider version, and says so when the file cannot be written', async () => {
    const noVersion = await rejection(writeVerificationRecord(passed, join(dir, 'r.json'), { provider: 'orders', providerVersion: '' }));
    expect(noVersion.code).toBe('BATON_ERR_INVALID_OPTION');
    expect(noVersion.message).toMatch(/providerVersion.*release version/);

    await writeFile(join(dir, 'a-file'), 'x');
    const target = join(dir, 'a-file', 'r.json');
    const unwritable = await rejection(writeVerificationRecord(passed, target, { provider: 'orders', providerVersion: 'v2' }));
    expect(unwritable.code).toBe('BATON_ERR_VERIFICATION_RECORD');
    expect(unwritable.message).toContain(target);
  });
});

describe('readVerificationRecord', () => {
  async function recordWith(change: (record: Record<string, unknown>) => void): Promise<string> {
    const file = join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
    await writeVerificationRecord(failed, file, { provider: 'orders', providerVersion: 'v2' });
    const record = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    change(record);
    await writeFile(file, JSON.stringify(record));
    return file;
  }

  it('says the file does not exist, with the file system error as the cause', async () => {
    const file = join(dir, 'verification', 'v9.json');
    const error = await rejection(readVerificationRecord(file));
    expect(error.code).toBe('BATON_ERR_VERIFICATION_RECORD');
    expect(error.message).toBe(`readVerificationRecord: cannot read the verification record ${file}: it does not exist.`);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('names the file and the field at fault', async () => {
    const notJson = join(dir, 'not.json');
    await writeFile(notJson, '<testsuites/>');
    const cases: [string, RegExp][] = [
      [notJson, /not\.json is not a verification record: not JSON/],
      [await recordWith((r) => { (r['interactions'] as Record<string, unknown>[])[1]!['status'] = 'ok'; }), /"interactions\[1\]\.status" must be "passed" or "failed"; got "ok"/],
      [await recordWith((r) => { delete r['providerVersion']; }), /"providerVersion" must be the provider version verified \(a non-empty string\); got undefined/],
      [await recordWith((r) => void (r['verifiedAt'] = 'yesterday')), /"verifiedAt" must be an ISO 8601 time; got "yesterday"/],
      [await recordWith((r) => void (r['pacts'] = [{ file: 'x.json', sha256: 'abc' }])), /"pacts\[0\]\.sha256" must be 64 lower-case hex digits; got "abc"/],
      [await recordWith((r) => void (r['formatVersion'] = 2)), /"formatVersion" is 2, written by a newer @baton\/contracts \(this one reads 1\)/],
      [await recordWith((r) => void (r['formatVersion'] = '1')), /"formatVersion" must be 1; got "1"/],
      // A hand edit that flips the verdict is caught: passed, yet a non-pending interaction failed.
      [await recordWith((r) => void (r['passed'] = true)), /"passed" is true but "interactions\[0\]" failed and is not pending/],
    ];
    for (const [file, message] of cases) {
      const error = await rejection(readVerificationRecord(file));
      expect(error.code).toBe('BATON_ERR_VERIFICATION_RECORD');
      expect(error.message).toContain(file);
      expect(error.message).toMatch(message);
    }
  });

  it('recomputes the counts rather than trusting them', async () => {
    const file = await recordWith((r) => {
      r['counts'] = { interactions: 2, passed: 2, failed: 0, pendingFailed: 0 };
    });
    expect((await readVerificationRecord(file)).counts).toEqual({ interactions: 2, passed: 1, failed: 1, pendingFailed: 0 });
  });
});

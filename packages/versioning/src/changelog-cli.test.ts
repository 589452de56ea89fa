import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderChangelog } from './changelog.js';
import type { VersionChain } from './version-chain.js';

// The built bin, run as users run it: `node dist/changelog-cli.js`, in a real child process.
const cli = fileURLToPath(new URL('../dist/changelog-cli.js', import.meta.url));
const builtIndex = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;

// A user's built module: the versions, changes and retirements of an API, exported in several ways.
const API_MODULE = `
import { createVersionChain, createVersioning, defineVersions, versionChange } from ${JSON.stringify(builtIndex)};
const versions = defineVersions({ versions: ['2024-01-10', '2024-09-01', '2025-03-01'] });
const changes = [
  versionChange({ version: '2024-09-01', description: '\`customer\` is split into \`buyer\` and \`recipient\`.', routes: ['POST /orders', 'GET /orders/:id'], request: { upgrade: (b) => b }, response: { downgrade: (b) => b } }),
  versionChange({ version: '2025-03-01', description: 'Refunds.', routes: ['POST /orders/:id/refund'], routesAdded: ['POST /orders/:id/refund'] }),
];
const retirements = { '2024-01-10': { deprecatedAt: '2024-09-01', sunsetAt: '2030-01-01' } };
export const answer = 42;
export const apiVersioning = { versions, changes, retirements, negotiation: { query: 'api_version' } };
export const chain = createVersionChain(versions, changes);
export function createApiVersioning() { return createVersioning({ versions, changes, retirements }); }
`;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], cwd: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('baton-api-changelog (node dist/changelog-cli.js)', () => {
  let dir = '';
  let api: { chain: VersionChain<string>; apiVersioning: { retirements: Record<string, { deprecatedAt: string; sunsetAt: string }> } };

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npx tsc -b packages/versioning).`);
    dir = mkdtempSync(join(tmpdir(), 'baton-changelog-cli-'));
    writeFileSync(join(dir, 'api.mjs'), API_MODULE);
    writeFileSync(join(dir, 'none.mjs'), 'export const answer = 42;\nexport function helper() {}\n');
    writeFileSync(join(dir, 'throws.mjs'), "throw new Error('no DATABASE_URL');\n");
    writeFileSync(
      join(dir, 'bad-changes.mjs'),
      `import { defineVersions } from ${JSON.stringify(builtIndex)};\nexport const options = { versions: defineVersions({ versions: ['2024-01-10', '2025-03-01'] }), changes: [{ version: '2024-01-10', description: 'x', routes: ['*'] }] };\n`,
    );
    api = (await import(pathToFileURL(join(dir, 'api.mjs')).href)) as typeof api;
  });
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('prints the changelog of the first export that is a chain, a Versioning or createVersioning options (here: the options, with retirements)', async () => {
    const result = await run(['api.mjs', '--title', 'Orders API'], dir);
    expect(result).toEqual({ code: 0, stdout: renderChangelog(api.chain, { title: 'Orders API', retirements: api.apiVersioning.retirements }), stderr: '' });
    expect(result.stdout).toContain('## 2024-01-10 (default for requests that name no version; deprecated 2024-09-01; sunset 2030-01-01)');
    expect(result.stdout).toContain('- `customer` is split into `buyer` and `recipient`.');
  });

  it('reads the export named by --export; a function is called for its result', async () => {
    const plain = renderChangelog(api.chain);
    expect(await run(['api.mjs', '--export', 'chain'], dir)).toEqual({ code: 0, stdout: plain, stderr: '' });
    // A Versioning carries its retirements: the deprecation notes are there.
    const retiring = renderChangelog(api.chain, { retirements: api.apiVersioning.retirements });
    expect(retiring).not.toBe(plain);
    expect(await run(['./api.mjs', '--export=createApiVersioning'], dir)).toEqual({ code: 0, stdout: retiring, stderr: '' });
    // The module path is relative to the current directory.
    expect((await run([join('..', dir.split('/').pop() as string, 'api.mjs'), '--export', 'chain'], dir)).stdout).toBe(plain);
  });

  it('writes --out, and --check exits 1 with the line and the command to run once the file drifts', async () => {
    const file = join(dir, 'API-CHANGELOG.md');
    const written = await run(['api.mjs', '--title', 'Orders API', '--out', 'API-CHANGELOG.md'], dir);
    expect(written).toEqual({ code: 0, stdout: '', stderr: 'baton-api-changelog: wrote API-CHANGELOG.md.\n' });
    expect(readFileSync(file, 'utf8')).toBe(renderChangelog(api.chain, { title: 'Orders API', retirements: api.apiVersioning.retirements }));

    expect(await run(['api.mjs', '--title', 'Orders API', '--check', 'API-CHANGELOG.md'], dir)).toEqual({ code: 0, stdout: '', stderr: 'baton-api-changelog: API-CHANGELOG.md is up to date.\n' });
    // A checkout with CRLF line endings is not a drift.
    writeFileSync(file, readFileSync(file, 'utf8').replaceAll('\n', '\r\n'));
    expect((await run(['api.mjs', '--title', 'Orders API', '--check', 'API-CHANGELOG.md'], dir)).code).toBe(0);

    writeFileSync(file, readFileSync(file, 'utf8').replace('Refunds.', 'Refunds, by hand.'));
    const drifted = await run(['api.mjs', '--title', 'Orders API', '--check', 'API-CHANGELOG.md'], dir);
    expect(drifted.code).toBe(1);
    expect(drifted.stdout).toBe('');
    expect(drifted.stderr).toBe(
      'baton-api-changelog: API-CHANGELOG.md is out of date with api.mjs (line 5: expected "- Refunds.", found "- Refunds, by hand.").\n' +
        "Regenerate it with:\n  baton-api-changelog api.mjs --title 'Orders API' --out API-CHANGELOG.md\n",
    );

    const missing = await run(['api.mjs', '--check', 'docs/CHANGELOG.md'], dir);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'baton-api-changelog: docs/CHANGELOG.md does not exist. Generate it with:\n  baton-api-changelog api.mjs --out docs/CHANGELOG.md\n' });
  });

  it('prints its usage for --help', async () => {
    const help = await run(['--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: baton-api-changelog <module> \[--export <name>\] \[--title <title>\] \[--out <file> \| --check <file>\]\n/);
  });

  it.each([
    [[], 'name the module: the built ES module that defines the versions'],
    [['api.mjs', 'other.mjs'], 'one module only; got "api.mjs", "other.mjs".'],
    [['api.mjs', '--ouput', 'x.md'], "Unknown option '--ouput'."],
    [['api.mjs', '--export'], "Option '--export <value>' argument missing"],
    [['api.mjs', '--title', ' '], '--title needs a value.'],
    [['api.mjs', '--out', 'a.md', '--check', 'a.md'], 'give --out (write the file) or --check (compare with it), not both.'],
    [['api.mjs', '--out', 'a.md', '--out', 'b.md'], '--out is given more than once.'],
    [['dist/missing.js'], `cannot find the module dist/missing.js (`],
    [['.'], '. is not a file; name the built module itself'],
    [['throws.mjs'], 'cannot load throws.mjs: no DATABASE_URL'],
    [['api.mjs', '--export', 'versioning'], 'api.mjs has no export named "versioning"; its exports: answer, apiVersioning, chain, createApiVersioning.'],
    [['api.mjs', '--export', 'answer'], 'the export answer is number 42, not a version chain, a Versioning (createVersioning) or createVersioning\'s options'],
    [['none.mjs'], 'none.mjs exports no version chain, Versioning or createVersioning options (its exports: answer, helper); export one, or name a factory with --export.'],
    [['bad-changes.mjs'], "the export options's changes are not valid: versioning: changes[0] (\"x\"): `version` is the oldest version (2024-01-10)"],
  ])('exits 2 with the problem and the usage: %j', async (args, message) => {
    const result = await run(args, dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.startsWith(`baton-api-changelog: ${message}`), result.stderr).toBe(true);
    expect(result.stderr).toContain('\n\nUsage: baton-api-changelog <module>');
  });
});

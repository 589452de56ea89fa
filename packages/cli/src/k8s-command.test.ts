// `baton k8s render` in-process, on real files: what it writes, and what it
// refuses with exit code 2 and one clear line, writing nothing.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from './index.js';
import { inProcessCli } from './in-process.test.fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-k8s-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = inProcessCli(() => dir);

const IMAGE = `registry.example.com/orders@sha256:${'e'.repeat(64)}`;
const config = (extra: Record<string, unknown> = {}): Promise<void> =>
  writeFile(join(dir, 'baton.config.json'), JSON.stringify({ service: 'orders', release: { version: 'v1', command: 'node' }, strategy: { type: 'rolling' }, ...extra }));

describe('baton k8s render', () => {
  it('writes one YAML stream on stdout, or one file per object with --out, for the release asked for', async () => {
    await config();
    const stream = await cli('k8s', 'render', '--release', 'v7', '--image', IMAGE);
    expect(stream.stderr).toBe('');
    expect(stream.code).toBe(EXIT.ok);
    expect(stream.stdout.match(/^kind: \w+$/gm)).toEqual(['kind: Deployment', 'kind: Service', 'kind: PodDisruptionBudget']);
    expect(stream.stdout).toContain('release: v7');
    const files = await cli('k8s', 'render', '--image', IMAGE, '--out', 'k8s');
    expect(files.code).toBe(EXIT.ok);
    expect(files.stdout).toContain('Wrote 3 objects of orders v1');
    expect((await readdir(join(dir, 'k8s'))).sort()).toEqual(['deployment-orders.yaml', 'poddisruptionbudget-orders.yaml', 'service-orders.yaml']);
    expect(await readFile(join(dir, 'k8s', 'deployment-orders.yaml'), 'utf8')).toContain(`image: ${IMAGE}`);
  });

  it('refuses, with exit code 2 and nothing written: a tag for an image, an unrecorded release, a bad section, a missing --env, an unknown subcommand', async () => {
    await config();
    const tag = await cli('k8s', 'render', '--image', 'orders:v1', '--out', 'k8s');
    expect(tag).toMatchObject({ code: EXIT.usage, stdout: '' });
    expect(tag.stderr).toContain('The image must be pinned by digest');
    const unrecorded = await cli('k8s', 'render');
    expect(unrecorded.code).toBe(EXIT.usage);
    expect(unrecorded.stderr).toContain('There is no release v1 in the registry: create it (baton release create) from an image release, or give the image pinned by digest');
    await config({ kubernetes: { namespace: 'Orders' } });
    const bad = await cli('k8s', 'render', '--image', IMAGE, '--out', 'k8s');
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toContain('kubernetes.namespace: a DNS label');
    await config({ environments: { staging: {}, production: {} } });
    const noEnv = await cli('k8s', 'render', '--image', IMAGE, '--out', 'k8s');
    expect(noEnv.code).toBe(EXIT.usage);
    expect(noEnv.stderr).toContain('say which with --env <name>, e.g. baton k8s render --env staging');
    expect(existsSync(join(dir, 'k8s'))).toBe(false);
    const sub = await cli('k8s', 'apply');
    expect(sub.code).toBe(EXIT.usage);
    expect(sub.stderr).toContain('unknown subcommand "apply"; the one there is: baton k8s render');
    expect((await cli('k8s', '--help')).stdout).toContain('Usage: baton k8s render [options]');
  });
});

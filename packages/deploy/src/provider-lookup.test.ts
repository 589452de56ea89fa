// Router and platform packages are found by kind from the project's own node_modules:
// what a user sees when the package is missing, is not a Baton provider, or is found.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBatonError } from '@baton/lifecycle';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPlatformProvider, loadRouterProvider, providerInstalled } from './provider-lookup.js';

let project: string;
beforeEach(async () => {
  project = await mkdtemp(join(tmpdir(), 'baton-lookup-'));
});
afterEach(async () => {
  await rm(project, { recursive: true, force: true });
});

/** Installs a package into the project's node_modules with `index.js` as its entry. */
async function install(name: string, source: string): Promise<void> {
  const dir = join(project, 'node_modules', ...name.split('/'));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', exports: { '.': { default: './index.js' } } }));
  await writeFile(join(dir, 'index.js'), source);
}

const ROUTER_SOURCE = (kind: string): string =>
  `export const routerProvider = { kind: ${JSON.stringify(kind)}, displayName: 'Test', logFiles: [], unavailable() {}, async start() {}, async connect() {}, async isRunning() { return false; }, async recordedUrl() {}, async stop() {} };`;

describe('loading router and platform packages by kind', () => {
  it('says which package to install when the kind has none installed', async () => {
    const error = await loadRouterProvider('envoy', { from: [project] }).catch((caught: unknown) => caught);
    expect(isBatonError(error, 'BATON_ERR_DEPLOY_CONFIG')).toBe(true);
    expect((error as Error).message).toContain('router.kind envoy needs the package @baton/router-envoy, which is not installed here: npm install --save-dev @baton/router-envoy');
    expect(providerInstalled('router', 'envoy', { from: [project] })).toBe(false);
  });

  it('finds a package installed in the project, under its default name or the one the config gives', async () => {
    await install('@baton/router-envoy', ROUTER_SOURCE('envoy'));
    await install('@acme/traefik-for-baton', ROUTER_SOURCE('traefik'));
    expect(providerInstalled('router', 'envoy', { from: [project] })).toBe(true);
    expect((await loadRouterProvider('envoy', { from: [project] })).displayName).toBe('Test');
    expect((await loadRouterProvider('traefik', { from: [project], packageName: '@acme/traefik-for-baton' })).kind).toBe('traefik');
  });

  it('refuses a package that is not a provider of that kind, naming what is missing', async () => {
    await install('@baton/router-half', `export const routerProvider = { kind: 'half', start() {} };`);
    await install('@baton/router-other', ROUTER_SOURCE('envoy'));
    await install('@baton/platform-broken', `throw new Error('boom at import');`);
    await expect(loadRouterProvider('half', { from: [project] })).rejects.toThrow(/does not export a routerProvider of kind half \(missing unavailable, connect, isRunning, recordedUrl, stop\)/);
    await expect(loadRouterProvider('other', { from: [project] })).rejects.toThrow(/does not export a routerProvider of kind other/);
    await expect(loadPlatformProvider('broken', { from: [project] })).rejects.toThrow(/@baton\/platform-broken failed to load: boom at import/);
  });
});

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BatonError } from '@baton/lifecycle';
import type { PlatformProvider, RouterProvider } from './providers.js';

/** A kind names a package (`@baton/router-<kind>`), so it is kept to what a package name allows. */
export const PROVIDER_KIND_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

/** Where to look for provider packages, and which package to load instead of the kind's default. */
export interface ProviderLookup {
  /** The package to load; default `@baton/router-<kind>` / `@baton/platform-<kind>`. */
  packageName?: string;
  /**
   * Directories whose `node_modules` are searched, in order (a project's
   * directory, the CLI's own); then `@baton/deploy`'s own location. A
   * service installs the routers it uses beside `@baton/cli`.
   */
  from?: readonly string[];
}

/** Loads the router package of `kind` and checks it exports a `routerProvider` of that kind. */
export async function loadRouterProvider(kind: string, lookup: ProviderLookup = {}): Promise<RouterProvider> {
  const name = lookup.packageName ?? `@baton/router-${kind}`;
  const provider = (await importProviderPackage(name, 'router', kind, lookup.from ?? []))['routerProvider'] as Partial<RouterProvider> | undefined;
  const missing = ['unavailable', 'start', 'connect', 'isRunning', 'recordedUrl', 'stop'].filter((method) => typeof (provider as Record<string, unknown> | undefined)?.[method] !== 'function');
  if (provider === undefined || provider.kind !== kind || missing.length > 0) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `router.kind ${kind}: ${name} does not export a routerProvider of kind ${kind}${missing.length > 0 ? ` (missing ${missing.join(', ')})` : ''}; is it a Baton router package?`);
  }
  return provider as RouterProvider;
}

/** Loads the platform package of `kind` and checks it exports a `platformProvider` of that kind. */
export async function loadPlatformProvider(kind: string, lookup: ProviderLookup = {}): Promise<PlatformProvider> {
  const name = lookup.packageName ?? `@baton/platform-${kind}`;
  const provider = (await importProviderPackage(name, 'platform', kind, lookup.from ?? []))['platformProvider'] as Partial<PlatformProvider> | undefined;
  if (provider === undefined || provider.kind !== kind || typeof provider.create !== 'function') {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `platform.kind ${kind}: ${name} does not export a platformProvider of kind ${kind}; is it a Baton platform package?`);
  }
  return provider as PlatformProvider;
}

/** True when the provider package of `kind` can be found (without loading it). */
export function providerInstalled(role: 'router' | 'platform', kind: string, lookup: ProviderLookup = {}): boolean {
  return resolvePackage(lookup.packageName ?? `@baton/${role}-${kind}`, lookup.from ?? []) !== undefined;
}

async function importProviderPackage(name: string, role: 'router' | 'platform', kind: string, from: readonly string[]): Promise<Record<string, unknown>> {
  const resolved = resolvePackage(name, from);
  if (resolved === undefined) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `${role}.kind ${kind} needs the package ${name}, which is not installed here: npm install --save-dev ${name} (beside @baton/cli).`);
  }
  try {
    return (await import(resolved)) as Record<string, unknown>;
  } catch (error) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `${role}.kind ${kind}: ${name} failed to load: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The file URL of `name` as Node would resolve it from one of `from`, else from this package; undefined when nowhere. */
function resolvePackage(name: string, from: readonly string[]): string | undefined {
  for (const base of [...from.map((dir) => join(dir, 'package.json')), import.meta.url]) {
    try {
      return pathToFileURL(createRequire(base).resolve(name)).href;
    } catch {
      // Not installed there; try the next place.
    }
  }
  return undefined;
}

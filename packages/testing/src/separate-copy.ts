import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

/** A physically separate copy of a built package, imported. */
export interface SeparateCopy<Module> {
  module: Module;
  /** Removes the copy's directory. */
  dispose(): void;
}

/**
 * Imports a copy of the package built at `packageDir` (its `dist/` and
 * package.json, the version suffixed `-copy`) from a temporary directory:
 * another path, so another module instance with other classes — what npm
 * gives an app whose dependencies ask for two versions of one package.
 */
export async function importSeparateCopy<Module>(packageDir: string): Promise<SeparateCopy<Module>> {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { name: string; version: string };
  const dir = mkdtempSync(join(tmpdir(), 'baton-two-copies-'));
  const copy = join(dir, 'node_modules', ...manifest.name.split('/'));
  cpSync(join(packageDir, 'dist'), join(copy, 'dist'), { recursive: true });
  writeFileSync(join(copy, 'package.json'), JSON.stringify({ ...manifest, version: `${manifest.version}-copy` }));
  const module = (await import(pathToFileURL(join(copy, 'dist', 'index.js')).href)) as Module;
  return { module, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A separate copy of the package at `packageDir` for the tests of one file:
 * imported before them, removed after. Read it through the returned function.
 */
export function useSeparateCopy<Module>(packageDir: string): () => Module {
  let copy: SeparateCopy<Module> | undefined;
  beforeAll(async () => {
    copy = await importSeparateCopy<Module>(packageDir);
  });
  afterAll(() => copy?.dispose());
  return () => {
    if (copy === undefined) throw new Error(`the copy of ${packageDir} is not imported yet (use it inside a test)`);
    return copy.module;
  };
}

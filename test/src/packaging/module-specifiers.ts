// The module specifiers a compiled file imports, found by pattern: tsc's
// output is regular (one import or export statement per line, each ending in
// `;`), so patterns find them without a JavaScript parser.
import { isBuiltin } from 'node:module';

const PATTERNS = [
  // import { a } from 'x';  export * from 'x';  import type { A } from 'x'; (over several lines too)
  /^\s*(?:import|export)\b[^;]*?\bfrom\s*(['"])([^'"\n]+)\1/gm,
  // import 'x';
  /^\s*import\s*(['"])([^'"\n]+)\1/gm,
  // await import('x'), and import('x').Type in declaration files
  /\bimport\(\s*(['"])([^'"\n]+)\1\s*\)/g,
  // require('x'), require.resolve('x'), createRequire(import.meta.url).resolve('x')
  /(?:\brequire|\brequire\.resolve|\)\.resolve)\(\s*(['"])([^'"\n]+)\1\s*\)/g,
];

/** Every literal module specifier `text` imports (relative ones included), once each. */
export function moduleSpecifiers(text: string): string[] {
  const found = new Set<string>();
  for (const pattern of PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const specifier = match[2];
      if (specifier !== undefined) found.add(specifier);
    }
  }
  return [...found];
}

export function isRelative(specifier: string): boolean {
  return specifier.startsWith('./') || specifier.startsWith('../');
}

/** A specifier that names a package (`express`, `@baton/lifecycle/x`), not a file, URL or Node builtin. */
export function isBarePackage(specifier: string): boolean {
  if (isRelative(specifier) || specifier.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(specifier)) return false;
  return !isBuiltin(specifier);
}

/** The package a bare specifier loads from: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

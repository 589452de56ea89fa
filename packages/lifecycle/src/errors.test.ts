import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BatonError, defineErrorCodes, ERROR_CODES, isBatonError, type ErrorCodeOf, type LifecycleErrorCode } from './errors.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** The codes this package's sources name in quotes: what it throws or checks (tests and the catalogue aside). */
function codesInSources(): string[] {
  const files = readdirSync(`${packageDir}src`, { recursive: true, encoding: 'utf8' });
  const sources = files.filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && file !== 'errors.ts');
  const text = sources.map((file) => readFileSync(`${packageDir}src/${file}`, 'utf8')).join('\n');
  return [...new Set(Array.from(text.matchAll(/['"](BATON_ERR_[A-Z_]+)['"]/g), (match) => match[1]!))].sort();
}

/** The codes the README's "Errors" section names. */
function codesInReadme(): string[] {
  const readme = readFileSync(`${packageDir}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('\n## Errors')).split(/\n## (?!Errors)/)[0]!;
  return [...new Set(section.match(/BATON_ERR_[A-Z_]+/g))].sort();
}

describe('the lifecycle error catalogue', () => {
  it("lists exactly the codes the lifecycle's sources throw: no code undocumented, no other package's code", () => {
    expect(Object.keys(ERROR_CODES).sort()).toEqual(codesInSources());
  });

  it('is what the README documents', () => {
    expect(codesInReadme()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});

describe('BatonError', () => {
  it("carries a code another package documents, and isBatonError matches it", () => {
    const error = new BatonError('BATON_ERR_NGINX_RELOAD', 'nginx -s reload failed', { cause: new Error('exit 1') });
    expect(error.code).toBe('BATON_ERR_NGINX_RELOAD');
    expect(isBatonError(error, 'BATON_ERR_NGINX_RELOAD')).toBe(true);
    expect(isBatonError(error, 'BATON_ERR_ROUTER')).toBe(false);
    expect(isBatonError(error)).toBe(true);
    // @ts-expect-error a code is BATON_ERR_*, so a typo of the prefix fails the build
    expect(new BatonError('NGINX_RELOAD', 'x').code).toBe('NGINX_RELOAD');
  });
});

describe('defineErrorCodes', () => {
  it("gives a package a frozen catalogue whose keys are its codes' type", () => {
    const catalogue = defineErrorCodes({ BATON_ERR_EXAMPLE: 'An example went wrong.' });
    const code: ErrorCodeOf<typeof catalogue> = 'BATON_ERR_EXAMPLE';
    expect(catalogue[code]).toBe('An example went wrong.');
    expect(Object.isFrozen(catalogue)).toBe(true);
    // @ts-expect-error not in this catalogue
    const other: ErrorCodeOf<typeof catalogue> = 'BATON_ERR_OTHER';
    // @ts-expect-error a code that is not the lifecycle's own
    const notLifecycle: LifecycleErrorCode = 'BATON_ERR_ROUTER';
    // @ts-expect-error a key that is not BATON_ERR_* fails the build
    defineErrorCodes({ EXAMPLE: 'no prefix' });
    expect([other, notLifecycle]).toHaveLength(2);
  });
});

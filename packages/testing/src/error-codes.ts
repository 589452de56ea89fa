// `@baton/testing/error-codes`: every package documents the error codes it throws.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Options of {@link describeErrorCodes}. */
export interface ErrorCodesOptions {
  /** `@baton/metrics`, for the test names. */
  packageName: string;
  /** The package's directory (a path or a file URL): its `src/` and `README.md` are read. */
  packageDir: string | URL;
  /** The keys of the package's own catalogue (`Object.keys(METRICS_ERROR_CODES)`); none for a package that owns no code. */
  own?: readonly string[];
  /** The keys of the catalogues of the packages it builds on, whose codes it may pass on. */
  inherited: readonly string[];
  /** Codes the package must throw: a router's `BATON_ERR_ROUTER`, the code the model promises. */
  mustThrow?: readonly string[];
}

/**
 * Registers the checks that keep a package's error codes documented: every
 * code its sources name in quotes (tests and `errors.ts` aside) is in its
 * catalogue or an inherited one; its catalogue holds only codes it throws and
 * none of another package's; its README's "Errors" section names every one and
 * nothing else.
 *
 * @example
 * describeErrorCodes({ packageName: '@baton/metrics', packageDir: new URL('..', import.meta.url), own: Object.keys(METRICS_ERROR_CODES), inherited: Object.keys(ERROR_CODES) });
 */
export function describeErrorCodes(options: ErrorCodesOptions): void {
  const dir = typeof options.packageDir === 'string' ? options.packageDir : fileURLToPath(options.packageDir);
  const own = options.own ?? [];
  const { inherited } = options;
  const thrown = codesInSources(join(dir, 'src'));

  describe(`the ${options.packageName} error codes`, () => {
    it('are documented: every code the sources throw is in its catalogue or in that of a package it builds on', () => {
      expect(thrown.filter((code) => !own.includes(code) && !inherited.includes(code))).toEqual([]);
    });

    it("are only codes the sources throw, none of another package's", () => {
      expect(own.filter((code) => !thrown.includes(code))).toEqual([]);
      expect(own.filter((code) => inherited.includes(code))).toEqual([]);
    });

    if (options.mustThrow !== undefined && options.mustThrow.length > 0) {
      it(`include ${options.mustThrow.join(', ')}`, () => {
        expect(thrown).toEqual(expect.arrayContaining([...(options.mustThrow ?? [])]));
      });
    }

    it('are all in the README, which names no code the package does not know', () => {
      const readme = codesInReadme(join(dir, 'README.md'));
      expect([...own, ...thrown].filter((code) => !readme.includes(code))).toEqual([]);
      expect(readme.filter((code) => !own.includes(code) && !inherited.includes(code))).toEqual([]);
    });
  });
}

/** The codes the sources under `srcDir` name in quotes: what the package throws or checks. */
function codesInSources(srcDir: string): string[] {
  const files = readdirSync(srcDir, { recursive: true, encoding: 'utf8' });
  const sources = files.filter((file) => file.endsWith('.ts') && !file.includes('.test.') && !/(^|\/)errors\.ts$/.test(file));
  const text = sources.map((file) => readFileSync(join(srcDir, file), 'utf8')).join('\n');
  return [...new Set(Array.from(text.matchAll(/['"](BATON_ERR_[A-Z_]+)['"]/g), (match) => match[1] ?? ''))].sort();
}

/** The codes the README's "Errors" section names. */
function codesInReadme(file: string): string[] {
  const readme = readFileSync(file, 'utf8');
  const start = readme.indexOf('\n## Errors');
  if (start < 0) return [];
  const section = readme.slice(start).split(/\n## (?!Errors)/)[0] ?? '';
  return [...new Set(section.match(/BATON_ERR_[A-Z_]+/g))].sort();
}

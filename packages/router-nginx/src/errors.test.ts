import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEPLOY_ERROR_CODES } from '@baton/deploy';
import { ERROR_CODES } from '@baton/lifecycle';
import { NGINX_ROUTER_ERROR_CODES } from './errors.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const own = Object.keys(NGINX_ROUTER_ERROR_CODES);
// The packages it builds on document the codes it passes on.
const inherited = [ERROR_CODES, DEPLOY_ERROR_CODES].flatMap((catalogue) => Object.keys(catalogue));

/** The codes this package's sources name in quotes: what it throws (tests and the catalogue aside). */
function codesInSources(): string[] {
  const files = readdirSync(`${packageDir}src`, { recursive: true, encoding: 'utf8' });
  const sources = files.filter((file) => file.endsWith('.ts') && !file.includes('.test.') && file !== 'errors.ts');
  const text = sources.map((file) => readFileSync(`${packageDir}src/${file}`, 'utf8')).join('\n');
  return [...new Set(Array.from(text.matchAll(/['"](BATON_ERR_[A-Z_]+)['"]/g), (match) => match[1]!))].sort();
}

/** The codes the README's "Errors" section names. */
function codesInReadme(): string[] {
  const readme = readFileSync(`${packageDir}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('\n## Errors')).split(/\n## (?!Errors)/)[0]!;
  return [...new Set(section.match(/BATON_ERR_[A-Z_]+/g))].sort();
}

const thrown = codesInSources();

describe('the @baton/router-nginx error codes', () => {
  it('are documented: every code the sources throw is in its catalogue or in that of a package it builds on', () => {
    expect(thrown.filter((code) => !own.includes(code) && !inherited.includes(code))).toEqual([]);
    expect(own.filter((code) => inherited.includes(code))).toEqual([]);
  });

  it('include BATON_ERR_ROUTER, the code the model promises for every router failure, and its own', () => {
    expect(thrown).toEqual(expect.arrayContaining(['BATON_ERR_ROUTER', 'BATON_ERR_NGINX_CONFIG', 'BATON_ERR_NGINX_START', 'BATON_ERR_INVALID_OPTION']));
  });

  it('are all in the README, which names no code the package does not know', () => {
    const readme = codesInReadme();
    expect([...own, ...thrown].filter((code) => !readme.includes(code))).toEqual([]);
    expect(readme.filter((code) => !own.includes(code) && !inherited.includes(code))).toEqual([]);
  });
});

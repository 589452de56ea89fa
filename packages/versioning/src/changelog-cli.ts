#!/usr/bin/env node
// baton-api-changelog: an API's changelog as Markdown, from the built module
// that defines its versions. The bin of @baton/versioning; see the README's
// "Changelog" section.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { renderChangelog, type ChangelogOptions } from './changelog.js';
import { createVersionChain, type VersionChain } from './version-chain.js';
import { createVersionLifecycle, type VersionRetirement } from './version-lifecycle.js';
import type { Versions } from './versions.js';

const NAME = 'baton-api-changelog';

const USAGE = `Usage: ${NAME} <module> [--export <name>] [--title <title>] [--out <file> | --check <file>]

Prints the Markdown changelog of an API's versions, generated from its version
changes by @baton/versioning's renderChangelog.

  <module>          the built ES module defining the versions (a path, relative
                    to the current directory), e.g. dist/api-versions.js
  --export <name>   the export to read; one of
                      - the options given to createVersioning
                        ({ versions, changes, retirements }: with deprecations)
                      - a Versioning (createVersioning) or a VersionChain
                      - a function returning one of those, called with no arguments
                    Default: the module's first export that is not a function and
                    is one of those (in export order, which is alphabetical).
  --title <title>   the API's name, for the heading (default "API")
  --out <file>      write the changelog to <file> instead of stdout
  --check <file>    compare <file> with the changelog; exit 1 when it differs
                    (in CI, so a committed changelog cannot drift from the code)
  -h, --help        show this help

Exit status: 0 done (or up to date), 1 <file> is out of date, 2 bad arguments
or a module that cannot be read.
`;

/** A wrong argument or module: the message, then the usage, and exit status 2. */
class UsageError extends Error {}

/** What one run was asked to do. */
interface Request {
  module: string;
  exportName?: string;
  title?: string;
  out?: string;
  check?: string;
}

/** What the changelog is rendered from. */
interface Source {
  chain: VersionChain<string>;
  retirements?: Partial<Record<string, VersionRetirement>>;
}

const OPTIONS = {
  export: { type: 'string' },
  title: { type: 'string' },
  out: { type: 'string' },
  check: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse(args: readonly string[]): Request | 'help' {
  const parsed = (() => {
    try {
      return parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
    } catch (error) {
      // node's messages name the option ("Unknown option '--ouput'"); its hint about "--" is noise here.
      throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, '.'));
    }
  })();
  if (parsed.values.help === true) return 'help';
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once.`);
    seen.add(token.name);
  }
  if (parsed.positionals.length === 0) throw new UsageError('name the module: the built ES module that defines the versions, e.g. dist/api-versions.js.');
  if (parsed.positionals.length > 1) throw new UsageError(`one module only; got ${parsed.positionals.map((p) => JSON.stringify(p)).join(', ')}.`);
  const { export: exportName, title, out, check } = parsed.values;
  for (const [name, value] of [['export', exportName], ['title', title], ['out', out], ['check', check]] as const) {
    if (value !== undefined && value.trim() === '') throw new UsageError(`--${name} needs a value.`);
  }
  if (out !== undefined && check !== undefined) throw new UsageError('give --out (write the file) or --check (compare with it), not both.');
  const request: Request = { module: parsed.positionals[0] as string };
  if (exportName !== undefined) request.exportName = exportName;
  if (title !== undefined) request.title = title;
  if (out !== undefined) request.out = out;
  if (check !== undefined) request.check = check;
  return request;
}

async function load(request: Request, cwd: string): Promise<Source> {
  const path = resolve(cwd, request.module);
  if (!existsSync(path)) throw new UsageError(`cannot find the module ${request.module} (${path}). Is it built?`);
  if (!statSync(path).isFile()) throw new UsageError(`${request.module} is not a file; name the built module itself, e.g. dist/api-versions.js.`);
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`cannot load ${request.module}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const names = Object.keys(namespace);
  if (request.exportName === undefined) {
    for (const name of names) {
      const value = namespace[name];
      if (typeof value === 'function') continue;
      const source = sourceOf(value, name);
      if (source !== undefined) return source;
    }
    throw new UsageError(
      `${request.module} exports no version chain, Versioning or createVersioning options${names.length === 0 ? ' (it exports nothing)' : ` (its exports: ${names.join(', ')})`}; export one, or name a factory with --export.`,
    );
  }
  if (!Object.hasOwn(namespace, request.exportName)) {
    throw new UsageError(`${request.module} has no export named ${JSON.stringify(request.exportName)}${names.length === 0 ? '; it exports nothing' : `; its exports: ${names.join(', ')}`}.`);
  }
  let value = namespace[request.exportName];
  if (typeof value === 'function') {
    try {
      value = await (value as () => unknown)();
    } catch (error) {
      throw new UsageError(`calling the export ${request.exportName}() threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const source = sourceOf(value, request.exportName);
  if (source === undefined) {
    throw new UsageError(
      `the export ${request.exportName} is ${describe(value)}, not a version chain, a Versioning (createVersioning) or createVersioning's options ({ versions, changes, retirements }).`,
    );
  }
  return source;
}

/** The chain (and retirements) an export stands for, or undefined when it is none of the accepted kinds. */
function sourceOf(value: unknown, name: string): Source | undefined {
  if (isChain(value)) return { chain: value };
  if (!isObject(value)) return undefined;
  const retirements = value.retirements as Source['retirements'] | undefined;
  let chain: VersionChain<string> | undefined;
  if (isChain(value.chain)) chain = value.chain;
  else if (isVersions(value.versions) && (value.changes === undefined || Array.isArray(value.changes))) {
    try {
      chain = createVersionChain(value.versions, (value.changes ?? []) as never[]);
    } catch (error) {
      throw new UsageError(`the export ${name}'s changes are not valid: ${(error as Error).message}`);
    }
  }
  if (chain === undefined) return undefined;
  if (retirements === undefined) return { chain };
  try {
    // The same checks as createVersioning, so a bad date is named here, not printed as "Invalid Date".
    createVersionLifecycle(chain.versions, { retirements });
  } catch (error) {
    throw new UsageError(`the export ${name}'s retirements are not valid: ${(error as Error).message}`);
  }
  return { chain, retirements };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

// Duck-typed: the user's module may load another copy of @baton/versioning.
function isVersions(value: unknown): value is Versions<string> {
  return isObject(value) && Array.isArray(value.list) && typeof value.latest === 'string' && typeof value.resolve === 'function';
}

function isChain(value: unknown): value is VersionChain<string> {
  return isObject(value) && isVersions(value.versions) && Array.isArray(value.changes) && typeof value.downgradeResponse === 'function' && typeof value.upgradeRequest === 'function';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isObject(value)) {
    const keys = Object.keys(value);
    return keys.length === 0 ? 'an empty object' : `an object with ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}`;
  }
  return typeof value === 'string' ? `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}` : `${typeof value} ${String(value)}`;
}

/** The command that writes `file`, for the drift message: what CI tells a developer to run. */
function regenerateCommand(request: Request, file: string): string {
  const quote = (text: string): string => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`);
  const parts = [NAME, request.module];
  if (request.exportName !== undefined) parts.push('--export', request.exportName);
  if (request.title !== undefined) parts.push('--title', request.title);
  parts.push('--out', file);
  return parts.map(quote).join(' ');
}

/** Where two texts first differ, line by line, for the drift message. */
function firstDifference(expected: string, found: string): string {
  const want = expected.split('\n');
  const have = found.split('\n');
  for (let at = 0; at < Math.max(want.length, have.length); at += 1) {
    if (want[at] === have[at]) continue;
    const show = (line: string | undefined): string => (line === undefined ? '(end of file)' : JSON.stringify(line));
    return `line ${at + 1}: expected ${show(want[at])}, found ${show(have[at])}`;
  }
  return 'they differ';
}

/** One run: the exit status. Writes the changelog to `out` (or stdout) and messages to stderr. */
async function run(args: readonly string[], cwd: string, stdout: (text: string) => void, stderr: (text: string) => void): Promise<number> {
  let request: Request | 'help';
  let source: Source;
  try {
    request = parse(args);
    if (request === 'help') {
      stdout(USAGE);
      return 0;
    }
    source = await load(request, cwd);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr(`${NAME}: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  const options: ChangelogOptions<string> = {};
  if (request.title !== undefined) options.title = request.title;
  if (source.retirements !== undefined) options.retirements = source.retirements;
  const markdown = renderChangelog(source.chain, options);

  if (request.check !== undefined) {
    const path = resolve(cwd, request.check);
    if (!existsSync(path)) {
      stderr(`${NAME}: ${request.check} does not exist. Generate it with:\n  ${regenerateCommand(request, request.check)}\n`);
      return 1;
    }
    // Line endings are the checkout's business (core.autocrlf), not a drift.
    const committed = readFileSync(path, 'utf8').replaceAll('\r\n', '\n');
    if (committed !== markdown) {
      stderr(
        `${NAME}: ${request.check} is out of date with ${request.module} (${firstDifference(markdown, committed)}).\n` +
          `Regenerate it with:\n  ${regenerateCommand(request, request.check)}\n`,
      );
      return 1;
    }
    stderr(`${NAME}: ${request.check} is up to date.\n`);
    return 0;
  }
  if (request.out !== undefined) {
    try {
      writeFileSync(resolve(cwd, request.out), markdown);
    } catch (error) {
      stderr(`${NAME}: cannot write ${request.out}: ${(error as Error).message}\n`);
      return 2;
    }
    stderr(`${NAME}: wrote ${request.out}.\n`);
    return 0;
  }
  stdout(markdown);
  return 0;
}

// The bin's one effect. exitCode, not process.exit(), so stdout is flushed to a pipe before the process ends;
// anything unforeseen is 2 as well (1 means "out of date" to CI).
try {
  process.exitCode = await run(
    process.argv.slice(2),
    process.cwd(),
    (text) => process.stdout.write(text),
    (text) => process.stderr.write(text),
  );
} catch (error) {
  process.stderr.write(`${NAME}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
}

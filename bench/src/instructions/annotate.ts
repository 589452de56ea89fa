// Where the instructions of a kept batch go, by function, JavaScript included.
// Callgrind knows no names for V8's generated code (it shows addresses); a run
// with `BENCH_INSTRUCTIONS_KEEP=dir` runs the apps under `--perf-basic-prof`,
// whose map (`<app>.perf.map`, kept beside the dumps) names every piece of
// generated code (`JS:*downgrade file:...:12:9`: `*` optimised, `^` baseline).
//
//   node bench/dist/instructions/annotate.js name <dump> [<perf map>]
//       writes <dump>.named with the addresses replaced by those names, for
//       `callgrind_annotate --inclusive=yes <dump>.named`
//   node bench/dist/instructions/annotate.js top <dump> [--base <dump>] [--requests N] [--lines N]
//       the functions by inclusive instructions per request; with --base, by
//       how much more (or less) they take than in the base dump (e.g. a
//       latest-version batch against Baton without versioning)
//
// The perf map defaults to the one named after the dump's app
// (`<framework>-<variant>.perf.map` in the same directory). Inclusive figures
// of generated code are approximate: V8 inlines callees into optimised
// callers (an inlined function's instructions are its caller's), and enters
// some functions by jumps, not calls.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface MapEntry {
  start: bigint;
  end: bigint;
  name: string;
}

function readPerfMap(path: string): MapEntry[] {
  const entries: MapEntry[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (!match) continue;
    const start = BigInt(`0x${match[1] as string}`);
    entries.push({ start, end: start + BigInt(`0x${match[2] as string}`), name: shorten(match[3] as string) });
  }
  // Later entries win (code is reused after being thrown away): search from the end.
  return entries;
}

function shorten(name: string): string {
  return name.replace(/file:\/\/\/[^ ]*?\/node_modules\/\.pnpm\/[^/]+\/node_modules\//g, '').replace(/file:\/\/\/work\/main\//g, '').replace(/file:\/\/\//g, '/');
}

function lookup(entries: readonly MapEntry[], address: bigint): string | undefined {
  for (let i = entries.length - 1; i >= 0; i -= 1) {
    const entry = entries[i] as MapEntry;
    if (address >= entry.start && address < entry.end) return entry.name;
  }
  return undefined;
}

/** The perf map of a kept dump: `<framework>-<variant>.perf.map` beside `<framework>-<variant>-<pass>-<kind>.callgrind`. */
export function perfMapOf(dump: string): string {
  const app = basename(dump).replace(/-\d+-(GET|POST|empty)\.callgrind(\.named)?$/, '');
  return join(dirname(dump), `${app}.perf.map`);
}

/** Writes `<dump>.named`: the dump with generated code's addresses replaced by their names. */
export function nameDump(dump: string, map = perfMapOf(dump)): string {
  const entries = existsSync(map) ? readPerfMap(map) : [];
  if (entries.length === 0) throw new Error(`no perf map at ${map}: run with BENCH_INSTRUCTIONS_KEEP=dir`);
  const text = readFileSync(dump, 'utf8').replace(/^(c?fn=\(\d+\) )0x([0-9a-f]+)$/gm, (whole, head: string, hex: string) => {
    const name = lookup(entries, BigInt(`0x${hex}`));
    return name === undefined ? whole : `${head}${name} [0x${hex}]`;
  });
  const out = `${dump}.named`;
  writeFileSync(out, text);
  return out;
}

/** Inclusive instructions by function, as callgrind_annotate works them out. */
function inclusive(named: string): Map<string, number> {
  const output = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', named], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const costs = new Map<string, number>();
  for (const line of output.split('\n')) {
    const match = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line);
    if (!match || (match[2] as string).includes('PROGRAM TOTALS')) continue;
    // Several pieces of code may carry one name (tiers, recompiles): keep their sum, without the address.
    const name = (match[2] as string).replace(/ \[0x[0-9a-f]+\]/, '').replace(/'\d+/, '');
    costs.set(name, (costs.get(name) ?? 0) + Number((match[1] as string).replaceAll(',', '')));
  }
  return costs;
}

/** The top functions of a dump (per request: the dump records no request count; give the batch's), or their change against a base dump. */
function top(dump: string, options: { base?: string; requests: number; lines: number }): string[] {
  const costs = inclusive(nameDump(dump));
  const base = options.base === undefined ? undefined : inclusive(nameDump(options.base));
  const names = new Set([...costs.keys(), ...(base?.keys() ?? [])]);
  const rows = [...names].map((name) => {
    const value = (costs.get(name) ?? 0) / options.requests;
    const reference = base === undefined ? 0 : (base.get(name) ?? 0) / options.requests;
    return { name, value, reference, delta: value - reference };
  });
  rows.sort((a, b) => (base === undefined ? b.value - a.value : Math.abs(b.delta) - Math.abs(a.delta)));
  const format = (value: number): string => Math.round(value).toLocaleString('en-US').padStart(10);
  return rows
    .slice(0, options.lines)
    .map((row) => (base === undefined ? `${format(row.value)}  ${row.name}` : `${format(row.delta)} ${format(row.value)} ${format(row.reference)}  ${row.name}`));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, dump, ...rest] = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const at = rest.indexOf(name);
    return at >= 0 ? rest[at + 1] : undefined;
  };
  if (command === 'name' && dump !== undefined) {
    process.stdout.write(`${nameDump(dump, rest[0] ?? perfMapOf(dump))}\n`);
  } else if (command === 'top' && dump !== undefined) {
    const base = option('--base');
    const requests = Number(option('--requests') ?? 1);
    const lines = Number(option('--lines') ?? 40);
    if (base !== undefined) process.stdout.write('    change       this       base  inclusive instructions per request\n');
    process.stdout.write(`${top(dump, { ...(base !== undefined ? { base } : {}), requests, lines }).join('\n')}\n`);
  } else {
    process.stderr.write('usage: annotate.js name <dump> [<perf map>] | top <dump> [--base <dump>] [--requests N] [--lines N]\n');
    process.exitCode = 2;
  }
}

// `pnpm bench:fleet`: Baton's rolling and canary deploys of growing fleets on
// each platform in one run (fleet-bench.ts), then the "Fleets" section of
// bench/RESULTS.md (and its Targets rows); nothing else in that file changes.
//
// Environment (all optional):
//   BENCH_FLEET_SIZES=3,12,30            fleet sizes
//   BENCH_FLEET_PLATFORMS=local,docker   platforms (docker when an engine and @baton/platform-docker are here)
//   BENCH_FLEET_STRATEGIES=rolling,canary
//   BENCH_FLEET_SURGE=25%                rolling's maxSurge: a count or a share of the fleet
//   BENCH_FLEET_ROUTER=builtin           the router kind
//   BENCH_FLEET_RATE=300                 requests per second of the load
//   BENCH_FLEET_SCRAPE_ROUNDS=20         timed analysis rounds per fleet
//   BENCH_FLEET_CPU_PROF=dir             profile each deploy's orchestrator process (--cpu-prof) into dir
//   BENCH_FLEET_WRITE=0                  print only; leave RESULTS.md as it is
//   BENCH_JSON=path                      also write the raw figures as JSON (after every deploy, so a long run keeps what it has)
//   BENCH_FLEET_RENDER=path              measure nothing: write the Fleets section from such a JSON file
//   BENCH_SKIP=...,fleet,...             skip this part (the full `pnpm bench` run honours it)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { spliceSection } from '../results-sections.js';
import { runFleetOn, type FleetOptions, type FleetRow, type FleetStrategyName } from './fleet-bench.js';
import { localFleetPlatform, type FleetPlatform } from './fleet-platform.js';
import { fleetMarkdown, fleetTargetRows, type FleetResult } from './fleet-report.js';

type Provenance = { date: string; command: string; commit: string; machine: string };

const skip = new Set((process.env.BENCH_SKIP ?? '').split(',').map((part) => part.trim()));
if (skip.has('fleet')) {
  console.error('fleet bench: skipped (BENCH_SKIP)');
  process.exit(0);
}

const list = (name: string, fallback: string): string[] => (process.env[name] || fallback).split(',').map((part) => part.trim()).filter(Boolean);
const sizes = list('BENCH_FLEET_SIZES', '3,12,30').map((size) => {
  const value = Number(size);
  if (!Number.isInteger(value) || value < 1 || value > 200) throw new Error(`BENCH_FLEET_SIZES: each size must be an integer from 1 to 200; got ${JSON.stringify(size)}`);
  return value;
});
const strategies = list('BENCH_FLEET_STRATEGIES', 'rolling,canary').map((name) => {
  if (name !== 'rolling' && name !== 'canary') throw new Error(`BENCH_FLEET_STRATEGIES: rolling or canary; got ${JSON.stringify(name)}`);
  return name as FleetStrategyName;
});
const platforms = list('BENCH_FLEET_PLATFORMS', 'local,docker');
const surge = process.env.BENCH_FLEET_SURGE || '25%';
if (!/^(\d+|\d+%)$/.test(surge) || Number(surge.replace('%', '')) < 1) throw new Error(`BENCH_FLEET_SURGE: a count (2) or a share of the fleet (25%); got ${JSON.stringify(surge)}`);
const positive = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer; got ${JSON.stringify(raw)}`);
  return value;
};
const options: FleetOptions = {
  sizes,
  strategies,
  surge,
  router: process.env.BENCH_FLEET_ROUTER || 'builtin',
  ratePerSecond: positive('BENCH_FLEET_RATE', 300),
  scrapeRounds: positive('BENCH_FLEET_SCRAPE_ROUNDS', 20),
  log: (line) => console.error(line),
  ...(process.env.BENCH_FLEET_CPU_PROF ? { cpuProfileDir: process.env.BENCH_FLEET_CPU_PROF } : {}),
};

const resultsFile = fileURLToPath(new URL('../../RESULTS.md', import.meta.url));
const startedAt = new Date();
const commit = gitCommit();
const uptimeBefore = uptime();
const rows: FleetRow[] = [];
const missing: { platform: string; reason: string }[] = [];
const measuredProvenance: Provenance = { date: startedAt.toISOString(), command: commandLine(), commit, machine: `${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}` };
const partial = (): FleetResult & { provenance: Provenance } => ({ options: { ...options, log: undefined, onRow: undefined }, rows, missing, uptime: { before: uptimeBefore, after: uptime() }, provenance: measuredProvenance });
options.onRow = (row) => {
  rows.push(row);
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(partial(), null, 2));
};
const rendered = process.env.BENCH_FLEET_RENDER ? (JSON.parse(readFileSync(process.env.BENCH_FLEET_RENDER, 'utf8')) as FleetResult & { provenance?: Provenance }) : undefined;
for (const kind of rendered === undefined ? platforms : []) {
  let platform: FleetPlatform | undefined;
  try {
    platform = await openPlatform(kind);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(`fleet bench: ${kind} left out: ${reason}`);
    missing.push({ platform: kind, reason });
    continue;
  }
  try {
    const { errors } = await runFleetOn(platform, options);
    for (const reason of errors) missing.push({ platform: kind, reason });
    if (errors.length > 0) process.exitCode = 1;
  } catch (error) {
    process.exitCode = 1;
    missing.push({ platform: kind, reason: `the run failed: ${error instanceof Error ? error.message : String(error)}` });
  } finally {
    await platform.close();
  }
}
const provenance: Provenance = rendered?.provenance ?? measuredProvenance;
const result: FleetResult = rendered ?? partial();
if (process.env.BENCH_JSON && rendered === undefined) writeFileSync(process.env.BENCH_JSON, JSON.stringify(partial(), null, 2));
const section = fleetMarkdown(result, provenance);
if (process.env.BENCH_FLEET_WRITE === '0' || result.rows.length === 0) {
  console.log(section.join('\n'));
} else {
  const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  writeFileSync(resultsFile, spliceSection(current, '## Fleets', '| Fleets: ', section, fleetTargetRows(result)));
  console.log(section.join('\n'));
  console.log(`Updated the Fleets section of ${resultsFile}`);
}

async function openPlatform(kind: string): Promise<FleetPlatform> {
  if (kind === 'local') return localFleetPlatform();
  if (kind === 'docker') {
    const { dockerFleetPlatform } = (await import(new URL('./docker-fleet.js', import.meta.url).href)) as { dockerFleetPlatform?: (log: (line: string) => void) => Promise<FleetPlatform> };
    if (dockerFleetPlatform === undefined) throw new Error('docker-fleet.js does not export dockerFleetPlatform');
    return dockerFleetPlatform(options.log);
  }
  throw new Error(`BENCH_FLEET_PLATFORMS: local or docker; got ${JSON.stringify(kind)}`);
}

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return 'n/a';
  }
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', '../packages', '../examples'], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) })
      .split('\n')
      .some((line) => line.trim() !== '' && !line.endsWith('bench/RESULTS.md'));
    return `commit ${head}${dirty ? ' plus uncommitted changes' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([key]) => key.startsWith('BENCH_FLEET') )
    .map(([key, value]) => `${key}=${value}`);
  const event = process.env.npm_lifecycle_event;
  return [...env, event === 'bench:fleet' || event === 'bench' ? `pnpm ${event}` : 'node bench/dist/fleet/run.js'].join(' ');
}

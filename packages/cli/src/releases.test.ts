// Releases through the real CLI, in-process: `baton release create`, `baton releases`, and deploys
// and a rollback of real processes behind the built-in router. The platform is the real local one,
// wrapped so that a release's artifact is a content-addressed copy of service.mjs: a new build is a
// new digest, and an instance runs its release's copy, not what the build directory holds now.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Artifact, Platform, ReleaseListing } from '@baton/deploy';
import { createLocalProcessPlatform } from '@baton/platform-local';
import { EXIT, runCli, type CliIo } from './index.js';

/** A service that answers every request with the build it was made from. */
function service(build: string): string {
  return `
import { createServer } from 'node:http';
const BUILD = ${JSON.stringify(build)};
const server = createServer((request, response) => {
  response.writeHead(request.url === '/metrics' ? 404 : 200, { 'content-type': 'text/plain' });
  response.end(BUILD);
});
server.listen(Number(process.env.PORT), process.env.HOST, () => console.log(JSON.stringify({ event: 'listening', port: server.address().port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
setInterval(() => server.closeIdleConnections(), 100).unref();
`;
}

const SECRET = 'pw-planted-6d0b2e';

let dir: string;
let stateDir: string;

beforeEach(async () => {
  // Short: the router's unix socket lives under the state directory (107 bytes at most).
  dir = await mkdtemp('/tmp/bcr-');
  stateDir = join(dir, 's');
  await writeFile(join(dir, 'service.mjs'), service('one'));
  await writeConfig();
});

afterEach(async () => {
  await cli('down');
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(env: Record<string, string> = {}, strategy?: unknown): Promise<void> {
  const config = {
    service: 'orders',
    instances: 1,
    stateDir,
    router: { kind: 'builtin' },
    timeouts: { readyMs: 15_000, drainMs: 2000, stopMs: 5000 },
    release: { version: 'v1', command: process.execPath, args: [join(dir, 'service.mjs')], env },
    ...(strategy === undefined ? {} : { strategy }),
  };
  await writeFile(join(dir, 'baton.config.json'), JSON.stringify(config));
}

/** The real local platform, whose artifact is `<dir>/store/<sha256>.mjs`, a copy of service.mjs, and whose instances run that copy. */
function bundlingPlatform(): Platform {
  const real = createLocalProcessPlatform({ stateDir: join(stateDir, 'instances'), listenTimeoutMs: 10_000 });
  return {
    ...real,
    async artifact(): Promise<Artifact> {
      const bytes = await readFile(join(dir, 'service.mjs'));
      const hex = createHash('sha256').update(bytes).digest('hex');
      const location = join(stateDir, 'artifacts', `${hex}.mjs`);
      await mkdir(join(stateDir, 'artifacts'), { recursive: true });
      await writeFile(location, bytes);
      return { kind: 'bundle', digest: `sha256:${hex}`, source: dir, location, sizeBytes: bytes.length };
    },
    // The copy runs as a plain command: what the real platform makes of a bundle artifact is its own business.
    start: (release, options) => {
      if (release.artifact === undefined) return real.start(release, options);
      const { artifact, ...plain } = release;
      return real.start({ ...plain, args: [artifact.location] }, options);
    },
  };
}

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
async function cli(options: Partial<CliIo> & { onOutput?: (text: string) => void }, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
async function cli(...args: unknown[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { onOutput, ...options } = typeof args[0] === 'object' ? (args.shift() as Partial<CliIo> & { onOutput?: (text: string) => void }) : {};
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: {
      write: (text) => {
        stdout += text;
        onOutput?.(text);
      },
    },
    stderr: { write: (text) => void (stderr += text) },
    cwd: dir,
    env: {},
    platform: bundlingPlatform(),
    ...options,
  };
  const code = await runCli(args as string[], io);
  return { code, stdout, stderr };
}

async function digestOfBuild(): Promise<string> {
  return `sha256:${createHash('sha256').update(await readFile(join(dir, 'service.mjs'))).digest('hex')}`;
}

/** What the service answers through the router. */
async function served(): Promise<string> {
  const shown = JSON.parse((await cli('status', '--json')).stdout) as { router?: { url?: string } };
  const response = await fetch(`${shown.router?.url ?? 'no router'}/`);
  return response.text();
}

async function releases(): Promise<ReleaseListing> {
  const listed = await cli('releases', '--json');
  expect(listed.code).toBe(EXIT.ok);
  return JSON.parse(listed.stdout) as ReleaseListing;
}

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' } }).trim();
}

describe('baton release create', () => {
  it('records the release with its artifact and source revision, again leaves it as it is, and refuses a new build under the same version', async () => {
    await writeConfig({ DB_PASSWORD: SECRET });
    git('init', '-q');
    git('add', 'service.mjs', 'baton.config.json');
    git('commit', '-q', '-m', 'one');
    const head = git('rev-parse', 'HEAD');
    const digest = await digestOfBuild();

    const created = await cli('release', 'create');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(EXIT.ok);
    expect(created.stdout).toBe(
      `Release v1 recorded.\n  artifact: bundle ${digest}\n  source:   ${dir}\n  location: ${join(stateDir, 'artifacts', `${digest.slice(7)}.mjs`)}\n  revision: ${head}\n`,
    );
    const file = join(stateDir, 'releases', 'v1.json');
    const recorded = await readFile(file, 'utf8');
    // The environment's secret is in the config, never in the registry.
    expect(recorded).not.toContain(SECRET);

    const again = await cli('release', 'create');
    expect(again.code).toBe(EXIT.ok);
    expect(again.stdout).toMatch(/^Release v1 was recorded on \d{4}-\d\d-\d\d \d\d:\d\d UTC with this artifact; nothing changed\.\n/);

    await writeFile(join(dir, 'service.mjs'), service('two'));
    const refused = await cli('release', 'create');
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`baton release create: v1 was released on `);
    expect(refused.stderr).toContain(`as ${digest} (${dir}); its artifact is now ${await digestOfBuild()}. A release is immutable: give this build a new version (baton deploy --release v2).`);

    // Deploying that build as v1 is refused the same way, before anything starts: no router, no instance.
    const deploy = await cli('deploy');
    expect(deploy.code).toBe(EXIT.usage);
    expect(deploy.stderr).toContain('A release is immutable: give this build a new version (baton deploy --release v2).');
    expect(existsSync(join(stateDir, 'router-kind'))).toBe(false);
    expect(existsSync(join(stateDir, 'journal', 'state.json'))).toBe(false);
    expect(await readFile(file, 'utf8')).toBe(recorded);
    expect(await readdir(join(stateDir, 'releases'))).toEqual(['fingerprint-key', 'v1.json']);

    // Under a new version it is a release of its own; the revision says the checkout has uncommitted changes.
    const v2 = await cli('release', 'create', '--release', 'v2');
    expect(v2.code).toBe(EXIT.ok);
    expect(v2.stdout).toContain(`  revision: ${head} (dirty: uncommitted changes)\n`);
  });

  it('is a usage error without a known subcommand', async () => {
    const result = await cli('release', 'list');
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('baton release: unknown subcommand "list"; the one there is: baton release create [--release <v>].');
    const help = await cli('release', '--help');
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain('release create       pin the config\'s release to its artifact and record it');
    expect(help.stdout).toContain('releases             the recorded releases');
  });
});

describe('deploys of pinned releases', () => {
  it('baton releases shows serving and previous after two deploys, and rollback runs the previous release\'s exact artifact', async () => {
    // Both releases carry a secret: the journal keeps only its fingerprint, and the rollback finds it in the config.
    await writeConfig({ DB_PASSWORD: SECRET });
    const first = await cli('deploy', '--release', 'v1');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(EXIT.ok);
    const v1 = await digestOfBuild();
    expect(first.stdout).toContain(`Release v1 recorded: bundle ${v1.slice(0, 19)} (${dir}).`);
    expect(await served()).toBe('one');

    await writeFile(join(dir, 'service.mjs'), service('two'));
    const second = await cli('deploy', '--release', 'v2');
    expect(second.code).toBe(EXIT.ok);
    const v2 = await digestOfBuild();
    expect(await served()).toBe('two');
    expect((await cli('status')).stdout).toContain(`\nrelease v2: bundle ${v2.slice(0, 19)} (${dir})\n`);

    const listing = await releases();
    expect(listing.releases.map((release) => [release.version, release.artifact?.digest, release.role, release.running])).toEqual([
      ['v1', v1, 'previous', 0],
      ['v2', v2, 'serving', 1],
    ]);
    const table = (await cli('releases')).stdout.split('\n');
    expect(table[0]).toBe(`orders: 2 releases  (state in ${stateDir})`);
    expect(table[1]).toMatch(/^VERSION +CREATED +ARTIFACT +SOURCE +WHERE$/);
    expect(table[2]).toMatch(new RegExp(`^v1 +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC +bundle ${v1.slice(0, 19)} \\(${dir}\\) +unknown +previous$`));
    expect(table[3]).toMatch(new RegExp(`^v2 .* bundle ${v2.slice(0, 19)} \\(${dir}\\) +unknown +serving, instances: 1 running$`));

    // The build directory moves on; going back runs v1 as it was recorded.
    expect(await readFile(join(stateDir, 'releases', 'v1.json'), 'utf8')).not.toContain(SECRET);
    await writeFile(join(dir, 'service.mjs'), service('three'));
    const back = await cli('rollback');
    expect(back.stderr).toBe('');
    expect(back.code).toBe(EXIT.ok);
    expect(back.stdout).toContain(`Going back to v1 as it ran: bundle ${v1.slice(0, 19)} (${dir}).`);
    expect(await served()).toBe('one');
    expect((await releases()).releases.map((release) => [release.version, release.role])).toEqual([
      ['v1', 'serving'],
      ['v2', 'previous'],
    ]);

    // A config that changed since v2 was released (another secret) is named, not shown.
    await writeConfig({ DB_PASSWORD: 'pw-other-planted-1f3c' });
    const noted = await cli('releases', '--release', 'v2');
    expect(noted.stdout).toContain("note: the config's v2 runs with another config than it was released with (env.DB_PASSWORD changed)");
    expect(noted.stdout).not.toContain('planted');
  });

  it('a resumed deploy whose build changed is refused, and the open deploy stays as it was', async () => {
    expect((await cli('deploy', '--release', 'v1')).code).toBe(EXIT.ok);
    await writeConfig({}, { type: 'canary', steps: [{ setWeight: 50 }, { pause: {} }] });
    await writeFile(join(dir, 'service.mjs'), service('two'));
    const interrupt = new AbortController();
    const paused = await cli({ signal: interrupt.signal, onOutput: (text) => text.includes('Paused') && interrupt.abort(new Error('Ctrl-C')) }, 'deploy', '--release', 'v2');
    expect(paused.code).toBe(EXIT.interrupted);
    expect((await releases()).releases.map((release) => [release.version, release.role])).toEqual([
      ['v1', 'serving'],
      ['v2', 'deploying'],
    ]);

    await writeFile(join(dir, 'service.mjs'), service('three'));
    const resumed = await cli('deploy', '--release', 'v2');
    expect(resumed.code).toBe(EXIT.usage);
    expect(resumed.stderr).toContain('A release is immutable: give this build a new version (baton deploy --release v3).');
    const shown = JSON.parse((await cli('status', '--json')).stdout) as { deploy?: { to: string; phase: string } };
    expect(shown.deploy).toMatchObject({ to: 'v2', phase: 'paused' });
  });

  it('a deploy of a recorded release whose run config changed says which parts (names, never values), and deploys it', async () => {
    expect((await cli('release', 'create')).code).toBe(EXIT.ok);
    await writeConfig({ LOG_LEVEL: 'debug', API_TOKEN: 'tok-planted-0e5d' });
    const deployed = await cli('deploy');
    expect(deployed.code).toBe(EXIT.ok);
    expect(deployed.stdout).toMatch(/Release v1 as recorded on .*: bundle sha256:/);
    expect(deployed.stdout).toContain('v1 runs with another config than it was released with: env.API_TOKEN, env.LOG_LEVEL changed (the artifact is the recorded one).');
    expect(deployed.stdout).not.toContain('tok-planted');
    expect(await served()).toBe('one');
  });

  it('baton releases shows a release deployed before releases were recorded, by where it runs, with its artifact unknown', async () => {
    expect((await cli('deploy', '--release', 'v1')).code).toBe(EXIT.ok);
    // A Baton from before the registry deployed v1: the journal knows it, the registry does not.
    await rm(join(stateDir, 'releases', 'v1.json'));
    const listing = await releases();
    expect(listing.releases).toEqual([]);
    expect(listing.unrecorded).toEqual([{ version: 'v1', role: 'serving', running: 1 }]);
    const table = (await cli('releases')).stdout.split('\n');
    expect(table[0]).toBe(`orders: 1 release  (state in ${stateDir})`);
    expect(table[2]).toMatch(/^v1 +not recorded +unknown \(deployed before releases were recorded\) +unknown +serving, instances: 1 running$/);

    // Its next deploy records the new release; v1 stays listed, as the previous one.
    await writeFile(join(dir, 'service.mjs'), service('two'));
    expect((await cli('deploy', '--release', 'v2')).code).toBe(EXIT.ok);
    const after = await releases();
    expect(after.releases.map((release) => [release.version, release.role])).toEqual([['v2', 'serving']]);
    expect(after.unrecorded).toEqual([{ version: 'v1', role: 'previous', running: 0 }]);
  });

  it('a garbled record is named by baton releases, which lists the others all the same', async () => {
    expect((await cli('release', 'create')).code).toBe(EXIT.ok);
    await writeFile(join(dir, 'service.mjs'), service('two'));
    expect((await cli('release', 'create', '--release', 'v2')).code).toBe(EXIT.ok);
    const file = join(stateDir, 'releases', 'v1.json');
    await writeFile(file, '{"version": "v1", "artifa');
    const listed = await cli('releases');
    expect(listed.code).toBe(EXIT.ok);
    expect(listed.stdout).toMatch(/\nv2 /);
    expect(listed.stderr).toContain(`baton releases: warning: The release record ${file} is not valid JSON`);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchText, waitFor } from '../index.js';
import { INSTANCE_SCRIPT, type InstanceMode } from './instance-script.js';
import type { ConformanceExit, ConformanceInstance, ConformancePlatform, ConformancePlatformProvider, ConformancePlatformSettings, ConformanceRelease, IsolatedInstances } from './shapes.js';

/**
 * The platform under test, named so that a separate process can create it too
 * (the orphan cases start an instance from an orchestrator process the suite
 * then SIGKILLs): `module` is the file URL of an ES module whose export
 * `exportName` is a `platformProvider` (`{ create(settings) }`).
 */
export interface PlatformUnderTest {
  /** File URL of the module, e.g. `new URL('../dist/index.js', import.meta.url).href` (built code: a plain node process imports it). */
  module: string;
  /** Default `platformProvider`. */
  exportName?: string;
}

/** Options of {@link platformConformance}. */
export interface PlatformConformanceOptions {
  /** The code start failures reject with. Default `BATON_ERR_PLATFORM`. */
  errorCode?: string;
  /** Settings the platform is created with, over `{ service: 'conformance', options: {}, port: 'announce', listenTimeoutMs: 20 000, routerDrainsFirst: false }`. */
  settings?: Partial<Omit<ConformancePlatformSettings, 'dir' | 'artifactsDir'>>;
  /** What an instance that ignores SIGTERM is given by `stop` before it is killed. Default 1500 ms. */
  stopDeadlineMs?: number;
  /** How much later than that deadline the kill may be seen. Default 5000 ms. */
  killSlackMs?: number;
  /**
   * The listen timeout of the case whose instance never listens: long enough
   * for it to boot and print a line on a busy machine. Default 6000 ms; a
   * container (its filesystem, network and init first) boots slower.
   */
  neverListenTimeoutMs?: number;
  /**
   * How long the suite waits for what an instance does on its own: its first
   * note after an orchestrator process started it, its exit to be reported.
   * Default 20 000 ms; an orchestrator process that creates a container on a
   * loaded engine takes longer.
   */
  waitMs?: number;
  /**
   * For platforms whose instances are not plain processes of this machine
   * (containers): how the suite's releases and settings become ones the
   * platform runs, and how a failed case's instances are removed.
   */
  isolated?: IsolatedInstances;
}

const CASE_MS = 60_000;

/**
 * The behaviour every Baton platform must show, as a vitest suite: call it at
 * the top level of a test file in the platform's package. The instances are a
 * small node script (run as `node <script> <mode>`) that the suite writes to a
 * temp dir: it listens on `PORT` at `HOST`, prints `{"event":"listening","port":N}`
 * and notes its boot, SIGTERM and exit in a marker file whose path it gets in
 * `CONFORMANCE_MARKER`.
 *
 * The cases: `start` reports a listening instance; `stop` delivers SIGTERM
 * and waits for the graceful exit, and kills (SIGKILL) at the deadline an
 * instance that ignores SIGTERM; `onExit` fires exactly once, for an
 * instance that exits by itself and for one that is stopped; `instances()`
 * finds an orphan whose orchestrator process was SIGKILLed right after
 * start, or before start resolved, and `stop` ends it; a start whose
 * instance exits at once, or never listens, rejects with `errorCode` and
 * the instance's last output in the message.
 *
 * @example
 * // packages/platform-docker/src/conformance.test.ts
 * import { platformConformance } from '@baton/testing/conformance';
 *
 * platformConformance('docker', { module: new URL('../dist/index.js', import.meta.url).href });
 */
export function platformConformance(name: string, subject: PlatformUnderTest, options: PlatformConformanceOptions = {}): void {
  const errorCode = options.errorCode ?? 'BATON_ERR_PLATFORM';
  const stopDeadlineMs = options.stopDeadlineMs ?? 1500;
  const killSlackMs = options.killSlackMs ?? 5000;
  const exportName = subject.exportName ?? 'platformProvider';
  const waitMs = options.waitMs ?? 20_000;
  // A case waits for an instance at most twice, plus its starts and stops.
  const caseMs = Math.max(CASE_MS, 2 * waitMs + 20_000);

  describe(`platform conformance: ${name}`, () => {
    let scriptDir = '';
    let provider: ConformancePlatformProvider;
    const dirs: string[] = [];
    const children: ChildProcess[] = [];

    beforeAll(async () => {
      const loaded = (await import(subject.module)) as Record<string, ConformancePlatformProvider | undefined>;
      const found = loaded[exportName];
      if (found === undefined || typeof found.create !== 'function') throw new Error(`platform conformance: ${subject.module} exports no ${exportName} with a create(settings)`);
      provider = found;
      scriptDir = await mkdtemp(join(tmpdir(), 'baton-platform-conformance-'));
      await writeFile(join(scriptDir, 'instance.mjs'), INSTANCE_SCRIPT);
    }, caseMs);

    afterEach(async () => {
      for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await options.isolated?.cleanUp();
      // Whatever instance a failed case left running goes: found by the marker path in its
      // environment, never by a pid read from a marker (in a container that pid is another
      // namespace's, and 1 there is the machine's init here).
      for (const dir of dirs.splice(0)) {
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          if (!name.endsWith('.marker')) continue;
          for (const pid of processesWithMarker(join(dir, name))) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // Gone already.
            }
          }
        }
        await rm(dir, { recursive: true, force: true });
      }
    }, caseMs);

    afterAll(async () => {
      if (scriptDir !== '') await rm(scriptDir, { recursive: true, force: true });
    });

    /** A fresh directory for the platform's state and the instances' markers. */
    const newDir = async (): Promise<string> => {
      const dir = await mkdtemp(join(tmpdir(), 'baton-platform-conformance-'));
      dirs.push(dir);
      return dir;
    };
    const settingsFor = (dir: string, overrides: Partial<ConformancePlatformSettings> = {}): ConformancePlatformSettings => ({
      service: 'conformance',
      artifactsDir: join(dir, 'artifacts'),
      options: {},
      port: 'announce',
      listenTimeoutMs: 20_000,
      routerDrainsFirst: false,
      ...options.settings,
      ...options.isolated?.settings?.({ scriptDir, caseDir: dir }),
      ...overrides,
      dir: join(dir, 'state'),
    });
    const releaseFor = (dir: string, id: string, mode: InstanceMode, token = ''): ConformanceRelease => {
      const release: ConformanceRelease = {
        version: 'v1',
        command: process.execPath,
        // The word goes as an argument: platforms redact env values whose names look secret.
        args: [join(scriptDir, 'instance.mjs'), mode, token],
        env: { CONFORMANCE_MARKER: markerOf(dir, id) },
      };
      return options.isolated === undefined ? release : options.isolated.release(release, { scriptDir, caseDir: dir });
    };
    const setUp = async (overrides: Partial<ConformancePlatformSettings> = {}): Promise<{ dir: string; platform: ConformancePlatform }> => {
      const dir = await newDir();
      return { dir, platform: provider.create(settingsFor(dir, overrides)) };
    };

    it('start reports a listening instance: its url answers with the RELEASE and BATON_INSTANCE it was given, and isRunning is true', async () => {
      const { dir, platform } = await setUp();
      const instance = await platform.start(releaseFor(dir, 'web-1', 'serve'), { id: 'web-1' });
      expect(instance).toMatchObject({ id: 'web-1', release: 'v1' });
      expect(instance.port).toBeGreaterThan(0);
      expect(instance.url).toBe(`http://${instance.host.includes(':') ? `[${instance.host}]` : instance.host}:${instance.port}`);
      expect(await fetchText(instance.url)).toMatchObject({ status: 200, body: 'v1 web-1' });
      expect(await platform.isRunning(instance)).toBe(true);
      await platform.stop(instance, { deadlineMs: 10_000 });
    }, caseMs);

    it('stop delivers SIGTERM and resolves only after the graceful exit the instance makes', async () => {
      const { dir, platform } = await setUp();
      const instance = await platform.start(releaseFor(dir, 'web-1', 'serve'), { id: 'web-1' });
      const exit = await platform.stop(instance, { deadlineMs: 10_000 });
      expect(notes(dir, 'web-1')).toEqual(['boot', 'sigterm', 'exiting']);
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(await platform.isRunning(instance)).toBe(false);
      await expect(fetchText(instance.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    }, caseMs);

    it(`stop kills an instance that ignores SIGTERM at the deadline (${stopDeadlineMs} ms): SIGKILL, within ${killSlackMs} ms after it`, async () => {
      const { dir, platform } = await setUp();
      const instance = await platform.start(releaseFor(dir, 'stubborn-1', 'ignore-term'), { id: 'stubborn-1' });
      const started = Date.now();
      const exit = await platform.stop(instance, { deadlineMs: stopDeadlineMs });
      const elapsed = Date.now() - started;
      expect(exit.signal).toBe('SIGKILL');
      expect(notes(dir, 'stubborn-1')).toEqual(['boot', 'sigterm']);
      // Timers may fire a few ms early by rounding; a kill well before the deadline would be a bug.
      expect(elapsed).toBeGreaterThanOrEqual(stopDeadlineMs - 20);
      expect(elapsed).toBeLessThanOrEqual(stopDeadlineMs + killSlackMs);
      expect(await platform.isRunning(instance)).toBe(false);
    }, caseMs);

    it('onExit fires exactly once, with the exit code, for an instance that exits by itself', async () => {
      const { dir, platform } = await setUp();
      const instance = await platform.start(releaseFor(dir, 'web-1', 'serve'), { id: 'web-1' });
      const calls: ConformanceExit[] = [];
      const unsubscribed: ConformanceExit[] = [];
      platform.onExit(instance, (exit) => calls.push(exit));
      platform.onExit(instance, (exit) => unsubscribed.push(exit))();
      expect((await fetchText(`${instance.url}/exit`)).body).toBe('bye');
      await waitFor(() => calls.length > 0, waitMs, 'onExit after the instance exited');
      expect(calls[0]).toMatchObject({ code: 7, signal: null });
      expect(await platform.isRunning(instance)).toBe(false);
      // A stop of an instance already gone resolves at once and is no second exit.
      await platform.stop(instance, { deadlineMs: 10_000 });
      await settle(platform, dir);
      expect(calls).toHaveLength(1);
      expect(unsubscribed).toEqual([]);
    }, caseMs);

    it('onExit fires exactly once, with what stop resolved, for an instance that is stopped', async () => {
      const { dir, platform } = await setUp();
      const instance = await platform.start(releaseFor(dir, 'web-1', 'serve'), { id: 'web-1' });
      const calls: ConformanceExit[] = [];
      platform.onExit(instance, (exit) => calls.push(exit));
      const exit = await platform.stop(instance, { deadlineMs: 10_000 });
      await waitFor(() => calls.length > 0, waitMs, 'onExit after the stop');
      expect(calls[0]).toMatchObject({ code: exit.code, signal: exit.signal });
      await platform.stop(instance, { deadlineMs: 10_000 });
      await settle(platform, dir);
      expect(calls).toHaveLength(1);
    }, caseMs);

    it('instances() finds an orphan whose orchestrator was SIGKILLed right after start, and stop ends it gracefully', async () => {
      const dir = await newDir();
      const child = startOrchestrator(dir, 'orphan-1', 'serve');
      const started = JSON.parse(await firstLine(child)) as ConformanceInstance;
      await killed(child);
      const platform = provider.create(settingsFor(dir));
      const found = (await instancesOf(platform)).find((instance) => instance.id === 'orphan-1');
      expect(found, 'the orphan among instances()').toMatchObject({ id: 'orphan-1', release: 'v1', port: started.port });
      const orphan = found as ConformanceInstance;
      expect(await platform.isRunning(orphan)).toBe(true);
      expect(await fetchText(orphan.url)).toMatchObject({ status: 200, body: 'v1 orphan-1' });
      await platform.stop(orphan, { deadlineMs: 10_000 });
      expect(notes(dir, 'orphan-1')).toEqual(['boot', 'sigterm', 'exiting']);
      expect(await platform.isRunning(orphan)).toBe(false);
      expect((await instancesOf(platform)).map((instance) => instance.id)).not.toContain('orphan-1');
    }, caseMs);

    it('instances() finds an orphan whose orchestrator was SIGKILLed before start resolved, and stop ends it', async () => {
      const dir = await newDir();
      const child = startOrchestrator(dir, 'orphan-2', 'listen-on-go');
      await waitFor(() => notes(dir, 'orphan-2').includes('boot'), waitMs, 'the orphan to boot');
      await killed(child);
      // Its orchestrator gone, the instance now listens.
      await writeFile(`${markerOf(dir, 'orphan-2')}.go`, '');
      const platform = provider.create(settingsFor(dir));
      const found = (await instancesOf(platform)).find((instance) => instance.id === 'orphan-2');
      expect(found, 'the orphan among instances()').toMatchObject({ id: 'orphan-2', release: 'v1' });
      const orphan = found as ConformanceInstance;
      expect(await platform.isRunning(orphan)).toBe(true);
      await platform.stop(orphan, { deadlineMs: 10_000 });
      expect(notes(dir, 'orphan-2')).toEqual(['boot', 'sigterm', 'exiting']);
      expect(await platform.isRunning(orphan)).toBe(false);
      expect((await instancesOf(platform)).map((instance) => instance.id)).not.toContain('orphan-2');
    }, caseMs);

    it('a start whose instance exits at once rejects with the platform error code and the instance\'s last output', async () => {
      const { dir, platform } = await setUp();
      const token = `word-${process.pid}-${Date.now()}`;
      const error = await rejectionOf(platform.start(releaseFor(dir, 'broken-1', 'exit-at-once', token), { id: 'broken-1' }));
      expect(error).toMatchObject({ code: errorCode });
      expect(error.message).toContain(`conformance instance: cannot start (${token})`);
    }, caseMs);

    it('a start whose instance never listens rejects after the listen timeout with the code and its last output, and leaves no process', async () => {
      // Long enough for node to boot and print on a busy machine: the line must be there to be quoted.
      const listenTimeoutMs = options.neverListenTimeoutMs ?? 6000;
      const { dir, platform } = await setUp({ listenTimeoutMs });
      const token = `word-${process.pid}-${Date.now()}`;
      const started = Date.now();
      const error = await rejectionOf(platform.start(releaseFor(dir, 'mute-1', 'never-listen', token), { id: 'mute-1' }));
      expect(error).toMatchObject({ code: errorCode });
      expect(error.message).toContain(`conformance instance: still warming up (${token})`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(listenTimeoutMs - 20);
      const marker = markerOf(dir, 'mute-1');
      await waitFor(() => processesWithMarker(marker).length === 0, 15_000, `the instance that never listened (a process with CONFORMANCE_MARKER=${marker}) to be gone`);
      expect((await instancesOf(platform)).map((instance) => instance.id)).not.toContain('mute-1');
    }, caseMs);

    /**
     * Gives a platform time to fire a second onExit by mistake, with a fact
     * rather than a sleep: another instance started and stopped on it (a
     * start, 300 ms of shutdown work and an exit) outlasts any poll of its.
     */
    async function settle(platform: ConformancePlatform, dir: string): Promise<void> {
      const other = await platform.start(releaseFor(dir, 'other-1', 'serve'), { id: 'other-1' });
      await platform.stop(other, { deadlineMs: 10_000 });
    }

    /** An orchestrator of its own (see platform-child.ts) that starts `id`. */
    function startOrchestrator(dir: string, id: string, mode: InstanceMode): ChildProcess {
      const spec = { module: subject.module, exportName, settings: settingsFor(dir), release: releaseFor(dir, id, mode), id };
      const child = spawn(process.execPath, [fileURLToPath(new URL('./platform-child.js', import.meta.url)), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      return child;
    }
  });
}

function markerOf(dir: string, id: string): string {
  return join(dir, `${id}.marker`);
}

/** What the instance noted, in order, without the pids. */
function notes(dir: string, id: string): string[] {
  const file = markerOf(dir, id);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => line.split(' ')[0] as string);
}

/**
 * This machine's pids of the live processes (zombies aside) whose
 * environment holds `CONFORMANCE_MARKER=<marker>`: an instance's processes,
 * whether it runs as a plain process or in a container (whose processes the
 * machine sees under pids of its own). Never 1 nor this process.
 */
function processesWithMarker(marker: string): number[] {
  const variable = Buffer.from(`CONFORMANCE_MARKER=${marker}\0`);
  const wanted = Buffer.concat([Buffer.from([0]), variable]);
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`);
      if (!environ.includes(wanted) && !environ.subarray(0, variable.length).equals(variable)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') found.push(pid);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

async function instancesOf(platform: ConformancePlatform): Promise<ConformanceInstance[]> {
  if (platform.instances === undefined) throw new Error('platform conformance: the platform has no instances(), so an orchestrator started again cannot find its orphans');
  return platform.instances();
}

/** The rejection of `promise`; fails when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection; it resolved with ${JSON.stringify(value)}`);
    },
    (error: Error & { code?: string }) => error,
  );
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end >= 0) resolve(text.slice(0, end));
    });
    child.once('exit', (code, signal) => reject(new Error(`the orchestrator process exited (${code ?? signal}) before it started its instance`)));
  });
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

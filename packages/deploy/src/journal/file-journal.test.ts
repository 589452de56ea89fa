import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileJournal, JOURNAL_FILES } from './file-journal.js';
import type { DeployEvent } from '../model.js';

// Child processes run the built journal (dist/), as a real orchestrator would.
const BUILT = fileURLToPath(new URL('../../dist/journal/file-journal.js', import.meta.url));

let dir: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-journal-'));
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Runs `script` (an ES module with `createFileJournal` in scope) in a child node and resolves once it printed `ready`. */
async function runChild(script: string): Promise<{ child: ChildProcess; lines: string[] }> {
  expect(existsSync(BUILT), `${BUILT} is missing: build first (npx tsc -b packages/deploy)`).toBe(true);
  const source = `import { createFileJournal } from ${JSON.stringify(BUILT)};\n${script}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      lines.push(...parts);
      if (lines.includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`child exited with ${code} before it was ready`)));
  });
  return { child, lines };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

const event = (type: string, data?: Record<string, unknown>): DeployEvent => ({ atMs: Date.now(), type, message: `${type} happened.`, ...(data ? { data } : {}) });

describe('createFileJournal', () => {
  it('reads undefined and no events before anything was written', async () => {
    const journal = createFileJournal<{ n: number }>({ dir: join(dir, 'not-yet') });
    expect(await journal.read()).toBeUndefined();
    expect(await journal.events()).toEqual([]);
  });

  it('round-trips the state and the events, in order', async () => {
    const journal = createFileJournal<{ service: string; instances: { id: string }[] }>({ dir });
    await journal.write({ service: 'orders', instances: [{ id: 'v1-1' }] });
    await journal.write({ service: 'orders', instances: [{ id: 'v1-1' }, { id: 'v2-2' }] });
    await journal.append(event('instance-started', { id: 'v2-2' }));
    await journal.append(event('weights'));
    expect(await journal.read()).toEqual({ service: 'orders', instances: [{ id: 'v1-1' }, { id: 'v2-2' }] });
    expect((await journal.events()).map((e) => [e.type, e.data])).toEqual([
      ['instance-started', { id: 'v2-2' }],
      ['weights', undefined],
    ]);
    // A second journal object on the directory (a restarted orchestrator) sees the same.
    const again = createFileJournal<unknown>({ dir });
    expect(await again.read()).toEqual({ service: 'orders', instances: [{ id: 'v1-1' }, { id: 'v2-2' }] });
    expect(await again.events()).toHaveLength(2);
    // No temp file is left behind.
    expect((await readdir(dir)).sort()).toEqual([JOURNAL_FILES.events, JOURNAL_FILES.state].sort());
  });

  it('keeps what it writes private: directory 0700, state, events and lock 0600 (the state holds release environments)', async () => {
    const journalDir = join(dir, 'state', 'journal');
    const journal = createFileJournal<{ env: Record<string, string> }>({ dir: journalDir });
    const lock = await journal.lock();
    await journal.write({ env: { DB_PASSWORD: 'secret-value' } });
    await journal.append(event('one'));
    const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
    expect(await mode(journalDir)).toBe(0o700);
    // Parents it had to create are private too.
    expect(await mode(join(dir, 'state'))).toBe(0o700);
    for (const file of [JOURNAL_FILES.state, JOURNAL_FILES.events, JOURNAL_FILES.lock]) expect(await mode(join(journalDir, file)), file).toBe(0o600);
    await lock.release();
  });

  it('tightens a journal an older Baton left readable by everyone, and reads what it holds', async () => {
    await chmod(dir, 0o755);
    await writeFile(join(dir, JOURNAL_FILES.state), '{"n": 1}\n', { mode: 0o644 });
    await writeFile(join(dir, JOURNAL_FILES.events), `${JSON.stringify(event('old'))}\n`, { mode: 0o644 });
    await chmod(join(dir, JOURNAL_FILES.events), 0o644);
    // The key of the state's secret fingerprints lives here too: a journal holding it is still Baton's own.
    await writeFile(join(dir, '.seal-key'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    const journal = createFileJournal<{ n: number }>({ dir });
    expect(await journal.read()).toEqual({ n: 1 });
    await journal.write({ n: 2 });
    await journal.append(event('new'));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, JOURNAL_FILES.state))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, JOURNAL_FILES.events))).mode & 0o777).toBe(0o600);
    expect(await journal.read()).toEqual({ n: 2 });
    expect((await journal.events()).map((e) => e.type)).toEqual(['old', 'new']);
  });

  it('keeps the state of the last write called when writes overlap', async () => {
    const journal = createFileJournal<{ n: number }>({ dir });
    await Promise.all(Array.from({ length: 20 }, (_, n) => journal.write({ n })));
    expect(await journal.read()).toEqual({ n: 19 });
  });

  it('keeps every overlapping append, in call order, each durable once its promise resolves', async () => {
    const journal = createFileJournal<unknown>({ dir });
    await Promise.all(Array.from({ length: 50 }, (_, n) => journal.append(event(`e${n}`, { n }))));
    expect((await journal.events()).map((e) => e.type)).toEqual(Array.from({ length: 50 }, (_, n) => `e${n}`));
    // A journal opened afresh (a restarted orchestrator) reads the same lines.
    expect(await createFileJournal<unknown>({ dir }).events()).toHaveLength(50);
  });

  it('leaves a readable state and readable events when the writer is killed mid-loop (SIGKILL)', async () => {
    const { child, lines } = await runChild(`
      const journal = createFileJournal({ dir: ${JSON.stringify(dir)} });
      const padding = 'x'.repeat(200_000);
      console.log('ready');
      for (let n = 1; ; n += 1) {
        await Promise.all([journal.write({ n, padding }), journal.append({ atMs: Date.now(), type: 'tick', message: 'tick ' + n, data: { n, padding: padding.slice(0, 5000) } })]);
        console.log('wrote ' + n);
      }
    `);
    await expect.poll(() => lines.filter((line) => line.startsWith('wrote ')).length, { timeout: 20_000 }).toBeGreaterThan(5);
    child.kill('SIGKILL');
    await exited(child);
    const confirmed = Math.max(...lines.filter((line) => line.startsWith('wrote ')).map((line) => Number(line.slice(6))));

    const journal = createFileJournal<{ n: number; padding: string }>({ dir });
    const state = await journal.read();
    // The last confirmed write, or the one after it that was in flight: never a torn or older state.
    expect(state?.n).toBeGreaterThanOrEqual(confirmed);
    expect(state?.padding).toHaveLength(200_000);
    const events = await journal.events();
    expect(events.length).toBeGreaterThanOrEqual(confirmed);
    expect(events.map((e) => e.data?.n)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    // The journal goes on: a new event lands on a line of its own.
    await journal.append(event('resumed'));
    expect((await journal.events()).at(-1)?.type).toBe('resumed');
  });

  it('skips an append a crash cut short, and the next append does not glue onto it', async () => {
    const journal = createFileJournal<unknown>({ dir });
    await journal.append(event('one'));
    await appendFile(join(dir, JOURNAL_FILES.events), '{"atMs":1,"type":"tw');
    expect((await journal.events()).map((e) => e.type)).toEqual(['one']);
    await journal.append(event('three'));
    expect((await journal.events()).map((e) => e.type)).toEqual(['one', 'three']);
  });

  it('refuses corrupt events before the last line, naming the file and the line', async () => {
    const journal = createFileJournal<unknown>({ dir });
    await journal.append(event('one'));
    await appendFile(join(dir, JOURNAL_FILES.events), 'not json\n');
    await journal.append(event('three'));
    const error = await journal.events().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BATON_ERR_JOURNAL' });
    expect((error as Error).message).toContain(join(dir, JOURNAL_FILES.events));
    expect((error as Error).message).toContain('line 2');
  });

  it('refuses a corrupt state file, naming it, and leaves it in place', async () => {
    await writeFile(join(dir, JOURNAL_FILES.state), '{"service": "orders", "instan');
    const journal = createFileJournal<unknown>({ dir });
    const error = await journal.read().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BATON_ERR_JOURNAL' });
    expect((error as Error).message).toContain(join(dir, JOURNAL_FILES.state));
    expect(await readFile(join(dir, JOURNAL_FILES.state), 'utf8')).toBe('{"service": "orders", "instan');
  });

  it('rejects what it cannot store with a clear error', async () => {
    const journal = createFileJournal<unknown>({ dir });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(journal.write(circular)).rejects.toMatchObject({ code: 'BATON_ERR_JOURNAL', message: expect.stringContaining('not JSON-able') });
    await expect(journal.append({ atMs: Number.NaN, type: 'x', message: '' })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringContaining('atMs') });
    await expect(journal.append({ atMs: 1, type: '', message: '' })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringContaining('type') });
    expect(() => createFileJournal({ dir: '' })).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION' }));
    expect(() => createFileJournal(undefined as never)).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION' }));
  });

  it('lets one locker in at a time, names the live holder, and takes over a dead one', async () => {
    const { child } = await runChild(`
      const journal = createFileJournal({ dir: ${JSON.stringify(dir)} });
      await journal.lock();
      console.log('ready');
      setInterval(() => {}, 1000);
    `);
    const journal = createFileJournal<unknown>({ dir });
    const refused = await journal.lock().catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'BATON_ERR_JOURNAL' });
    expect((refused as Error).message).toContain(`process ${child.pid}`);

    // The holder dies without releasing (a crash): its lock is stale and taken over.
    child.kill('SIGKILL');
    await exited(child);
    const lock = await journal.lock();
    const content = JSON.parse(await readFile(join(dir, JOURNAL_FILES.lock), 'utf8')) as { pid: number };
    expect(content.pid).toBe(process.pid);

    // A second locker in this very process is refused too, until the release.
    const other = createFileJournal<unknown>({ dir });
    await expect(other.lock()).rejects.toMatchObject({ code: 'BATON_ERR_JOURNAL', message: expect.stringContaining(`process ${process.pid}`) });
    await lock.release();
    const second = await other.lock();
    // Releasing a lock that is no longer ours leaves the holder's in place.
    await lock.release();
    expect(existsSync(join(dir, JOURNAL_FILES.lock))).toBe(true);
    await second.release();
    expect(existsSync(join(dir, JOURNAL_FILES.lock))).toBe(false);
  });

  it('takes over a lock whose pid now belongs to another process (pid reuse)', async () => {
    // This process's pid, but another start time: the holder that wrote it is gone.
    await writeFile(join(dir, JOURNAL_FILES.lock), JSON.stringify({ pid: process.pid, start: 'another-boot:1', acquiredAtMs: 1, token: 'old' }));
    const lock = await createFileJournal<unknown>({ dir }).lock();
    await lock.release();
  });

  it('clears the temp files a crashed orchestrator left, once it holds the lock', async () => {
    const leftovers = [`.${JOURNAL_FILES.state}.999999999.a.tmp`, `${JOURNAL_FILES.lock}.999999999.b.tmp`, `${JOURNAL_FILES.lock}.999999999.c.stale`];
    for (const name of leftovers) await writeFile(join(dir, name), '{}');
    const journal = createFileJournal<{ n: number }>({ dir });
    const lock = await journal.lock();
    expect((await readdir(dir)).sort()).toEqual([JOURNAL_FILES.lock]);
    await lock.release();
  });

  it('refuses a lock file it did not write, rather than guessing', async () => {
    await writeFile(join(dir, JOURNAL_FILES.lock), 'garbage');
    await expect(createFileJournal<unknown>({ dir }).lock()).rejects.toMatchObject({ code: 'BATON_ERR_JOURNAL', message: expect.stringContaining('not a lock Baton wrote') });
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { resolveDeployConfig } from './deploy-config.js';
import { createFileJournal } from './journal/file-journal.js';
import { loadSealKey, SEAL_KEY_FILE, sealRelease, sealState, secretFingerprint, unsealRelease } from './journal-secrets.js';
import type { Analysis, BackendStatus, DeployEvent, InstanceExit, InstanceRecord, Platform, ReleaseSpec, Router } from './model.js';
import { Orchestrator } from './orchestrator.js';
import type { JournaledRelease, ServiceState } from './service-state.js';

const SECRETS = { DB_PASSWORD: 's3cret-of-v1', API_TOKEN: 'tok-0123456789abcdef', URL_PASSWORD: 'pw-in-the-url', MARKED: 'marked-by-secretEnv', V2_PASSWORD: 's3cret-of-v2' };
const VARIABLES = ['DB_PASSWORD', 'API_TOKEN', 'DATABASE_URL', 'LICENSE', 'GREETING'];

function v1(): ReleaseSpec {
  return {
    version: 'v1',
    command: process.execPath,
    args: ['-e', SERVER],
    env: { DB_PASSWORD: SECRETS.DB_PASSWORD, API_TOKEN: SECRETS.API_TOKEN, DATABASE_URL: `postgres://app:${SECRETS.URL_PASSWORD}@db/orders`, LICENSE: SECRETS.MARKED, GREETING: 'hello', TOKEN_TTL_SECONDS: '3600' },
    secretEnv: ['LICENSE'],
  };
}

function v2(): ReleaseSpec {
  return { version: 'v2', command: process.execPath, args: ['-e', SERVER], env: { DB_PASSWORD: SECRETS.V2_PASSWORD, GREETING: 'hello' } };
}

describe('journal secrets: sealing and unsealing', () => {
  const key = Buffer.alloc(32, 7);

  it('moves secret values out of env into fingerprints, keeps the rest, and leaves the state in memory alone', () => {
    const release = v1();
    const state: ServiceState = { service: 'orders', stable: release, instances: [], nextInstance: 2 };
    const sealed = sealState(state, key);
    expect(sealed.stable?.env).toEqual({ GREETING: 'hello', TOKEN_TTL_SECONDS: '3600' });
    expect(Object.keys(sealed.stable?.sealedEnv ?? {}).sort()).toEqual(['API_TOKEN', 'DATABASE_URL', 'DB_PASSWORD', 'LICENSE']);
    expect(sealed.stable?.sealedEnv?.['DB_PASSWORD']).toBe(secretFingerprint(key, 'DB_PASSWORD', SECRETS.DB_PASSWORD));
    expect(JSON.stringify(sealed)).not.toMatch(/s3cret|tok-0|pw-in|marked-by/);
    // The orchestrator keeps working with the values.
    expect(state.stable?.env?.['DB_PASSWORD']).toBe(SECRETS.DB_PASSWORD);
    // Sealing again changes nothing.
    expect(sealRelease(sealed.stable as JournaledRelease, key)).toEqual(sealed.stable);
  });

  it('fills secrets in from the config first, then the environment; says which changed; names a missing one', () => {
    const sealed = sealRelease(v1(), key);
    const environment = { API_TOKEN: SECRETS.API_TOKEN, DATABASE_URL: 'postgres://app:rotated@db/orders', LICENSE: SECRETS.MARKED, DB_PASSWORD: 'from-the-environment' };
    const { release, changed } = unsealRelease(sealed, { config: v2(), environment, key, command: 'baton rollback' });
    // v2's config names DB_PASSWORD: its value wins over the environment's, and differs from v1's.
    expect(release.env).toEqual({ ...v1().env, DB_PASSWORD: SECRETS.V2_PASSWORD, DATABASE_URL: 'postgres://app:rotated@db/orders' });
    expect(release).not.toHaveProperty('sealedEnv');
    expect(changed.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'DATABASE_URL', from: 'environment' },
      { name: 'DB_PASSWORD', from: 'config' },
    ]);

    let error: unknown;
    try {
      unsealRelease(sealed, { config: undefined, environment: { ...environment, API_TOKEN: undefined }, key, command: 'baton rollback' });
    } catch (caught) {
      error = caught;
    }
    expect(isBatonError(error) && error.code).toBe('BATON_ERR_DEPLOY_FAILED');
    expect((error as Error).message).toContain('The secret API_TOKEN of release v1 is not in the config or the environment');
    expect((error as Error).message).toContain('run baton rollback again');
  });

  it('makes one key per journal directory, private, and two makers at once agree on it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-seal-'));
    try {
      const [a, b] = await Promise.all([loadSealKey(join(dir, 'journal')), loadSealKey(join(dir, 'journal'))]);
      expect(a.equals(b)).toBe(true);
      expect(a.length).toBe(32);
      expect((await stat(join(dir, 'journal', SEAL_KEY_FILE))).mode & 0o777).toBe(0o600);
      expect((await loadSealKey(join(dir, 'journal'))).equals(a)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// A service in a few lines: announces its port, is ready at once, and tells what it got in its environment.
const SERVER = `
  const http = require('node:http');
  const names = ${JSON.stringify(VARIABLES)};
  const server = http.createServer((req, res) => {
    if (req.url === '/env') return res.end(JSON.stringify(Object.fromEntries(names.map((n) => [n, process.env[n] ?? null]))));
    res.statusCode = req.url === '/readyz' ? 200 : 404;
    res.end();
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** Processes on this machine, as little as the orchestrator needs (the real platforms have packages of their own). */
function processPlatform(): Platform & { children: ChildProcess[] } {
  const children: ChildProcess[] = [];
  const byId = new Map<string, ChildProcess>();
  return {
    children,
    async start(release, { id }) {
      const child = spawn(release.command as string, [...(release.args ?? [])], { env: { ...process.env, ...release.env }, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      byId.set(id, child);
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
        child.once('exit', () => reject(new Error(`${id} exited before it listened`)));
      });
      const port = Number(line);
      return { id, release: release.version, host: '127.0.0.1', port, url: `http://127.0.0.1:${port}`, pid: child.pid as number, startedAtMs: Date.now() };
    },
    async stop(instance, { deadlineMs }) {
      const child = byId.get(instance.id);
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return { code: child?.exitCode ?? null, signal: child?.signalCode ?? null, atMs: Date.now() };
      const exited = new Promise<InstanceExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, atMs: Date.now() })));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    isRunning(instance: InstanceRecord) {
      const child = byId.get(instance.id);
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    onExit(instance, listener) {
      const child = byId.get(instance.id);
      const call = (code: number | null, signal: NodeJS.Signals | null): void => listener({ code, signal, atMs: Date.now() });
      child?.once('exit', call);
      return () => child?.off('exit', call);
    },
  };
}

/** The router's bookkeeping without the traffic: the orchestrator probes instances itself. */
function memoryRouter(): Router {
  const backends = new Map<string, BackendStatus>();
  return {
    kind: 'memory',
    url: 'http://127.0.0.1:1',
    async add(backend) {
      if (!backends.has(backend.id)) backends.set(backend.id, { ...backend, state: 'maint', weight: 0, inFlight: 0, requestsTotal: 0, health: 'unknown' });
    },
    async set(changes) {
      for (const change of changes) {
        const backend = backends.get(change.id);
        if (backend === undefined) throw new Error(`unknown backend ${change.id}`);
        if (change.state !== undefined) backend.state = change.state;
        if (change.weight !== undefined) backend.weight = change.weight;
      }
    },
    async remove(id) {
      backends.delete(id);
    },
    async backends() {
      return [...backends.values()];
    },
    async close() {},
  };
}

const PASSING: Analysis = {
  begin: async () => ({ startedAtMs: Date.now() }),
  judge: async () => ({ outcome: 'pass', reasons: [], releases: {}, atMs: Date.now() }),
};

describe('journal secrets: deploys and rollbacks', () => {
  let stateDir: string;
  let platform: ReturnType<typeof processPlatform>;
  const router = memoryRouter();
  const saved: Record<string, string | undefined> = {};
  const events: DeployEvent[] = [];

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'baton-journal-secrets-'));
    platform = processPlatform();
    events.length = 0;
    for (const name of VARIABLES) saved[name] = process.env[name];
  });

  afterEach(async () => {
    for (const child of platform.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await rm(stateDir, { recursive: true, force: true });
  });

  /** One command's orchestrator, as `baton deploy` opens it: the state read from the journal file. */
  function configOf(release: ReleaseSpec): ReturnType<typeof resolveDeployConfig> {
    return resolveDeployConfig({ service: 'orders', instances: 1, stateDir, strategy: { type: 'rolling' }, timeouts: { readyMs: 10_000, drainMs: 2000, stopMs: 5000 }, release }, { cwd: stateDir });
  }

  /** `journaled`: a release read back from the journal, run as the config's release (what `baton rollback` does, past the config check). */
  async function open(release: ReleaseSpec, options: { journaled?: ReleaseSpec; signal?: AbortSignal; onEvent?: (event: DeployEvent) => void } = {}): Promise<Orchestrator> {
    const config = { ...configOf(release), ...(options.journaled === undefined ? {} : { release: options.journaled }) };
    return Orchestrator.open({
      config,
      platform,
      router,
      analysis: PASSING,
      journal: createFileJournal<ServiceState>({ dir: join(stateDir, 'journal') }),
      onEvent: (event) => {
        events.push(event);
        options.onEvent?.(event);
      },
      pollMs: 20,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  async function served(version: string): Promise<Record<string, string | null>> {
    const orchestrator = await open(v2());
    const instance = orchestrator.state.instances.find((candidate) => candidate.release === version && candidate.status === 'ready');
    if (instance === undefined) throw new Error(`no ready instance of ${version}`);
    return (await (await fetch(`${instance.url}/env`)).json()) as Record<string, string | null>;
  }

  /** What `baton rollback` after a finished deploy does: a deploy of the journal's previous release. */
  async function rollback(): Promise<Awaited<ReturnType<Orchestrator['deploy']>>> {
    const previous = (await open(v2())).state.previous as ReleaseSpec;
    return (await open(v2(), { journaled: previous })).deploy();
  }

  it('the journal file holds no secret value; a rollback takes them from the config, then the environment, names one that is missing, and says which changed', async () => {
    for (const name of VARIABLES) delete process.env[name];
    expect((await (await open(v1())).deploy()).phase).toBe('succeeded');
    expect((await (await open(v2())).deploy()).phase).toBe('succeeded');

    const text = await readFile(join(stateDir, 'journal/state.json'), 'utf8');
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
    const state = JSON.parse(text) as ServiceState;
    expect(Object.keys(state.previous?.sealedEnv ?? {}).sort()).toEqual(['API_TOKEN', 'DATABASE_URL', 'DB_PASSWORD', 'LICENSE']);
    expect(state.previous?.env).toEqual({ GREETING: 'hello', TOKEN_TTL_SECONDS: '3600' });
    expect((await stat(join(stateDir, 'journal', SEAL_KEY_FILE))).mode & 0o777).toBe(0o600);
    // Nothing else in the journal has them either.
    const eventsText = await readFile(join(stateDir, 'journal/events.jsonl'), 'utf8');
    for (const secret of Object.values(SECRETS)) expect(eventsText).not.toContain(secret);

    // The config (v2's) names DB_PASSWORD; v1's other secrets are nowhere now: the rollback stops
    // before it starts an instance, and says what to do.
    const refused = await rollback();
    expect(refused.phase).toBe('rolled-back');
    expect(refused.reason).toContain('The secret API_TOKEN of release v1 is not in the config or the environment');
    expect(refused.reason).toContain('run baton rollback again');
    expect((await served('v2')).DB_PASSWORD).toBe(SECRETS.V2_PASSWORD);

    // Exported, one of them rotated: v1 runs with them (DB_PASSWORD from the config first), and what
    // differs from what v1 was deployed with is named (not its value).
    Object.assign(process.env, { DB_PASSWORD: SECRETS.DB_PASSWORD, API_TOKEN: SECRETS.API_TOKEN, DATABASE_URL: 'postgres://app:rotated-pw@db/orders', LICENSE: SECRETS.MARKED });
    events.length = 0;
    const back = await rollback();
    expect(back.phase).toBe('succeeded');
    expect(await served('v1')).toEqual({ DB_PASSWORD: SECRETS.V2_PASSWORD, API_TOKEN: SECRETS.API_TOKEN, DATABASE_URL: 'postgres://app:rotated-pw@db/orders', LICENSE: SECRETS.MARKED, GREETING: 'hello' });
    const changed = events.filter((event) => event.type === 'secret-changed');
    expect(changed.map((event) => event.data)).toEqual([
      { release: 'v1', variable: 'DB_PASSWORD', from: 'config' },
      { release: 'v1', variable: 'DATABASE_URL', from: 'environment' },
    ]);
    expect(JSON.stringify(changed)).not.toMatch(/rotated-pw|s3cret/);
    const after = await readFile(join(stateDir, 'journal/state.json'), 'utf8');
    for (const secret of [...Object.values(SECRETS), 'rotated-pw']) expect(after).not.toContain(secret);
  });

  it('a deploy resumed by a new orchestrator starts the candidate with the config\'s values: the journal held only their fingerprints', async () => {
    for (const name of VARIABLES) delete process.env[name];
    expect((await (await open(v1())).deploy()).phase).toBe('succeeded');
    // A deploy of v2 cut short after its plan is journaled (an orchestrator killed, Ctrl-C).
    const interrupted = new AbortController();
    const cut = await open(v2(), { signal: interrupted.signal, onEvent: (event) => event.type === 'deploy-started' && interrupted.abort() });
    const stopped = await cut.deploy();
    expect(stopped.phase).toBe('interrupted');
    const journaled = JSON.parse(await readFile(join(stateDir, 'journal/state.json'), 'utf8')) as ServiceState;
    expect(journaled.deploy?.candidate.sealedEnv).toHaveProperty('DB_PASSWORD');
    expect(journaled.deploy?.candidate.env).not.toHaveProperty('DB_PASSWORD');

    const resumed = await (await open(v2())).deploy();
    expect(resumed.phase).toBe('succeeded');
    expect((await served('v2')).DB_PASSWORD).toBe(SECRETS.V2_PASSWORD);
    expect(events.filter((event) => event.type === 'secret-changed')).toEqual([]);
  });
});

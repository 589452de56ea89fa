import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { fetchText, type TestResponse } from '../index.js';

/** Socket errors after which no answer came: the call is made once more (see `admin`). */
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED']);
import type { TestDatabase } from './postgres.js';

/** A feature toggle as the admin API creates it. */
export interface ToggleSpec {
  type?: 'release' | 'experiment' | 'operational' | 'kill-switch' | 'permission';
  /** On in the `development` environment (the client token's). Default false. */
  enabled?: boolean;
  /** Strategies; default one `default` strategy (on for everyone). `variants` are put on each. */
  strategies?: { name: string; parameters?: Record<string, string>; constraints?: unknown[] }[];
  variants?: { name: string; weight: number; weightType?: 'variable' | 'fix'; stickiness?: string; payload?: { type: 'json' | 'string' | 'number'; value: string } }[];
}

/** A real Unleash server (its own process) over a real PostgreSQL, with tokens and admin helpers. */
export interface UnleashServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** What unleash-client's `url` option takes: `${url}/api`. */
  apiUrl: string;
  port: number;
  adminToken: string;
  /** A client token for the `development` environment. */
  clientToken: string;
  createToggle(name: string, spec?: ToggleSpec): Promise<void>;
  setEnabled(name: string, enabled: boolean): Promise<void>;
  deleteToggle(name: string): Promise<void>;
  /** Kills the server process with `signal` (default SIGKILL: it dies mid-run) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and database (after `kill`). */
  restart(): Promise<void>;
  /** Stops the server (not the database). */
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./unleash-server-process.js', import.meta.url));

/**
 * Starts `unleash-server` (npm) in a child process against `database`, with
 * API tokens on, and waits until it listens. The first start on an empty
 * schema runs Unleash's migrations (a few seconds).
 */
export async function startUnleash(database: TestDatabase): Promise<UnleashServer> {
  const adminToken = '*:*.baton-admin-token';
  const clientToken = '*:development.baton-client-token';
  const db = { host: database.host, port: database.port, user: database.user, password: database.password, database: database.database, schema: database.schema };
  let child: ChildProcess | undefined;
  let port: number | undefined;
  /** How the server process died when nobody asked it to (kill, restart, stop), with the end of its stderr: said by the next admin call that cannot connect. */
  let died: string | undefined;
  let stopping = false;

  const launch = async (): Promise<number> => {
    const config = JSON.stringify({ db, adminToken, clientToken, ...(port === undefined ? {} : { port }) });
    const proc = spawn(process.execPath, [CHILD], { env: { ...process.env, BATON_UNLEASH_CONFIG: config }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    return new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: proc.stdout! });
      const timer = setTimeout(() => reject(new Error(`unleash-server did not listen within 60 s: ${stderr}`)), 60_000);
      lines.on('line', (line) => {
        try {
          const event = JSON.parse(line) as { event?: string; port?: number };
          if (event.event === 'listening' && event.port) {
            clearTimeout(timer);
            resolve(event.port);
          }
        } catch {
          // not our line
        }
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!stopping && child === proc) died = `the Unleash server (pid ${proc.pid}) exited by itself with ${signal ?? `code ${code}`}; its stderr ended: ${stderr.slice(-1500) || '(nothing)'}`;
        reject(new Error(`unleash-server exited with ${code} before listening: ${stderr}`));
      });
    });
  };

  port = await launch();
  const url = `http://127.0.0.1:${port}`;
  // A fresh connection per admin call (fetchText: no agent), not fetch's pool:
  // a pooled keep-alive connection can be one Unleash is closing at that very
  // moment (its 5 s keep-alive timeout), and on a busy machine that race is
  // likely — a createToggle beside stress-ng failed with ECONNRESET.
  //
  // A call whose connection is reset before any answer is made once more: with two test files at
  // once, a fresh admin connection was reset (read ECONNRESET) right after a restart. Every call
  // here may run twice: a create that got through the first time answers 409, which means done.
  const admin = async (method: string, path: string, body?: unknown): Promise<void> => {
    const call = (): Promise<TestResponse> =>
      fetchText(`${url}/api/admin/projects/default/features${path}`, {
        method,
        headers: { authorization: adminToken, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    let response: TestResponse;
    let retried = false;
    try {
      response = await call();
    } catch (error) {
      if (!CONNECTION_LOST.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
      retried = true;
      try {
        response = await call();
      } catch (again) {
        // A server that died by itself is the story, not the refused connection.
        throw died === undefined ? again : new Error(`Unleash admin ${method} ${path}: ${died}`, { cause: again });
      }
    }
    if (retried && response.status === 409) return;
    if (response.status < 200 || response.status > 299) throw new Error(`Unleash admin ${method} ${path}: HTTP ${response.status} ${response.body}`);
  };
  const exited = (proc: ChildProcess | undefined): Promise<void> =>
    proc === undefined || proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((resolve) => proc.once('exit', () => resolve()));

  return {
    url,
    apiUrl: `${url}/api`,
    port,
    adminToken,
    clientToken,
    async createToggle(name, spec = {}) {
      await admin('POST', '', { name, type: spec.type ?? 'release' });
      // Unleash 8 keeps variants on strategies (environment variants are deprecated there).
      const variants = spec.variants?.map((v) => ({ weightType: 'variable', stickiness: 'default', ...v }));
      for (const strategy of spec.strategies ?? [{ name: 'default', parameters: {} }]) {
        await admin('POST', `/${name}/environments/development/strategies`, { parameters: {}, ...strategy, ...(variants ? { variants } : {}) });
      }
      if (spec.enabled) await admin('POST', `/${name}/environments/development/on`);
    },
    async setEnabled(name, enabled) {
      await admin('POST', `/${name}/environments/development/${enabled ? 'on' : 'off'}`);
    },
    async deleteToggle(name) {
      await admin('DELETE', `/${name}`);
      // Archived toggles are gone for clients; delete them for good so a name can be reused.
      const response = await fetchText(`${url}/api/admin/archive/${name}`, { method: 'DELETE', headers: { authorization: adminToken } });
      if ((response.status < 200 || response.status > 299) && response.status !== 404) throw new Error(`Unleash archive delete ${name}: HTTP ${response.status}`);
    },
    async kill(signal = 'SIGKILL') {
      const proc = child;
      stopping = true;
      proc?.kill(signal);
      await exited(proc);
    },
    async restart() {
      stopping = false;
      died = undefined;
      await launch();
    },
    async stop() {
      stopping = true;
      const proc = child;
      proc?.kill('SIGTERM');
      const done = exited(proc);
      const timer = setTimeout(() => proc?.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}

// The canary-service fixture (test/src/fixtures/canary-service.ts) as child
// processes of the judge bench: started with PORT=0, found by their
// listening line, ready once /readyz answers 200, and stopped (drained by
// closing their stdin, SIGKILL after a deadline) however the bench ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitForReady } from '@baton/e2e/harness';
import type { InstanceRecord } from '@baton/deploy';

/** The built fixture, next to the e2e harness in test/dist (the bench depends on @baton/e2e). */
export function canaryServiceScript(): string {
  const script = fileURLToPath(new URL('../fixtures/canary-service.js', import.meta.resolve('@baton/e2e/harness')));
  if (!existsSync(script)) throw new Error(`${script} is missing: build the test package first (flock /tmp/baton-build.lock npx tsc -b test bench)`);
  return script;
}

/** What an instance is started with, besides PORT, HOST, RELEASE and BATON_INSTANCE. */
export interface InstanceEnv {
  /** CANARY_FAULTS as an object; none by default. */
  faults?: Record<string, { errorRate?: number; latencyFactor?: number }>;
  /** CANARY_COLD_START; none by default. */
  coldStart?: { factor: number; settleRequests: number };
}

/** A running instance: its record (as a platform would give it) and how to stop it. */
export interface RunningInstance {
  record: InstanceRecord;
  stop(): Promise<void>;
}

/**
 * Every child this process started and has not seen exit, so that any way
 * out — an error, Ctrl-C, the end of the bench — kills them all.
 */
export class InstancePool {
  private readonly children = new Set<ChildProcess>();
  private readonly script = canaryServiceScript();
  private readonly onExit = (): void => {
    for (const child of this.children) child.kill('SIGKILL');
  };

  constructor() {
    // Synchronous last resort: on exit nothing async runs, but a signal can still be sent.
    process.on('exit', this.onExit);
  }

  /** Starts `id` of `release`; resolves once it answers /readyz with 200. */
  async start(id: string, release: string, env: InstanceEnv = {}): Promise<RunningInstance> {
    const startedAtMs = Date.now();
    const child = spawn(process.execPath, [this.script], {
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        RELEASE: release,
        BATON_INSTANCE: id,
        // Stopped only after the load is over: no delay needed before it stops accepting.
        BATON_PROPAGATION_DELAY_MS: '0',
        // Its stdin is a pipe from this process: if the bench dies (even by SIGKILL), the instance drains and exits.
        CANARY_STDIN_LIFELINE: '1',
        CANARY_FAULTS: env.faults === undefined ? '' : JSON.stringify(env.faults),
        CANARY_COLD_START: env.coldStart === undefined ? '' : JSON.stringify(env.coldStart),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.children.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void exited.then(() => this.children.delete(child));
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    };
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${id}: no listening line within 60 s`)), 60_000);
        const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
        lines.once('line', (line) => {
          clearTimeout(timer);
          try {
            const parsed = JSON.parse(line) as { event?: unknown; port?: unknown };
            if (parsed.event === 'listening' && typeof parsed.port === 'number') resolve(parsed.port);
            else reject(new Error(`${id}: the first stdout line is not a listening line: ${line}`));
          } catch {
            reject(new Error(`${id}: the first stdout line is not JSON: ${line}`));
          }
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`${id} exited (${child.exitCode ?? child.signalCode}) before listening: ${stderr.trim()}`));
        });
      });
      const url = `http://127.0.0.1:${port}`;
      await waitForReady(url, { timeoutMs: 30_000 });
      const record: InstanceRecord = { id, release, host: '127.0.0.1', port, url, startedAtMs, ...(child.pid === undefined ? {} : { pid: child.pid }) };
      return { record, stop };
    } catch (error) {
      await stop();
      throw error;
    }
  }

  /** Stops every instance still running (drain, SIGKILL after 5 s). */
  async close(): Promise<void> {
    const running = [...this.children];
    await Promise.all(
      running.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.stdin?.end();
          }),
      ),
    );
    process.off('exit', this.onExit);
  }
}

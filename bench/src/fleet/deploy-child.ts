// Runs deploy-driver.ts as a child process and collects what it reports: every
// deploy event, the outcome, and its CPU time over the deploy.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DeployEvent } from '@baton/deploy';
import type { DriverDone, DriverInput } from './deploy-driver.js';

const DRIVER = fileURLToPath(new URL('./deploy-driver.js', import.meta.url));

export interface ChildDeploy {
  events: DeployEvent[];
  done: DriverDone['done'];
  /** The driver's pid (its /proc entry is gone by now; the CPU figure is its own process.cpuUsage()). */
  pid: number;
}

/** Deploys in a separate orchestrator process; rejects when it does not report an outcome within `timeoutMs`. */
export async function deployInChild(input: DriverInput, timeoutMs: number, options: { cpuProfileDir?: string } = {}): Promise<ChildDeploy> {
  // --cpu-prof: where the orchestrator's CPU goes (open the .cpuprofile in Chrome DevTools).
  const profile = options.cpuProfileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir];
  const child = spawn(process.execPath, [...profile, DRIVER, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: DeployEvent[] = [];
  let done: DriverDone['done'] | undefined;
  let stderr = '';
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.trim() === '') continue;
      const parsed = JSON.parse(line) as { event?: DeployEvent } & Partial<DriverDone>;
      if (parsed.event) events.push(parsed.event);
      if (parsed.done) done = parsed.done;
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  clearTimeout(timer);
  if (done === undefined) throw new Error(`the deploy process ended without an outcome (exit ${exit.code ?? exit.signal}): ${stderr.trim() || '(no stderr)'}`);
  return { events, done, pid: child.pid ?? 0 };
}

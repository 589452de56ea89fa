// The orchestrator of one fleet deploy, in a process of its own: what a user
// runs (`baton deploy` calls the same runDeployCommand), apart from the
// benchmark's load generator, so its CPU time is its own. Reads the deploy
// config as JSON from argv[2], writes every event and then the outcome as JSON
// lines on stdout. CPU is process.cpuUsage() around the deploy itself (module
// loading and config checks left out).
import { resolveDeployConfig, runDeployCommand, type DeployConfig, type DeployEvent } from '@baton/deploy';

/** What the parent passes in argv[2]. */
export interface DriverInput {
  config: DeployConfig;
  cwd: string;
  lookupFrom: string[];
}

/** The last line the driver writes. */
export interface DriverDone {
  done: {
    phase: string;
    reason?: string;
    /** Epoch ms just before runDeployCommand, and just after it returned. */
    startedAtMs: number;
    endedAtMs: number;
    /** CPU seconds of this process over the deploy. */
    cpuSeconds: { user: number; system: number };
    /** Resident memory at the end (bytes). */
    rss: number;
  };
}

const write = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

const input = JSON.parse(process.argv[2] ?? '{}') as DriverInput;
const config = resolveDeployConfig(input.config, { cwd: input.cwd, lookupFrom: input.lookupFrom });
const cpuBefore = process.cpuUsage();
const startedAtMs = Date.now();
const outcome = await runDeployCommand(config, 'deploy', { onEvent: (event: DeployEvent) => write({ event }) });
const endedAtMs = Date.now();
const cpu = process.cpuUsage(cpuBefore);
const done: DriverDone = {
  done: {
    phase: outcome.phase,
    ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
    startedAtMs,
    endedAtMs,
    cpuSeconds: { user: cpu.user / 1e6, system: cpu.system / 1e6 },
    rss: process.memoryUsage.rss(),
  },
};
write(done);
process.exit(0);

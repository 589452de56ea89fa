import { existsSync } from 'node:fs';
import { findExecutable } from './internal/processes.js';

/**
 * Why real Docker engines cannot run here, with how to fix it, or undefined
 * when they can. Suites skip with this reason (`describe.skipIf`); on a machine
 * that has it wrong, the reason says what to install or change.
 *
 * @example
 * const reason = dockerUnavailable();
 * describe.skipIf(reason !== undefined)(`platform-docker${reason ? ` (skipped: ${reason})` : ''}`, () => { ... });
 */
export function dockerUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `Docker engines run on Linux only (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'the Docker rig starts dockerd, bridges and engines of its own, which needs root: run the tests as root (as .ci/run does)';
  }
  const missing = ['dockerd', 'containerd', 'runc'].filter((name) => findExecutable(name) === undefined);
  if (missing.length > 0) return `${missing.join(', ')} not found: apt-get install -y docker.io (.ci/run installs it)`;
  if (findExecutable('ip') === undefined) return 'ip not found (a second engine needs a bridge of its own): apt-get install -y iproute2';
  if (!existsSync('/proc/self/mountinfo')) return '/proc is not mounted: dockerd cannot run';
  return undefined;
}

import type { DeployEvent, ReleaseSample } from '@baton/deploy';

/** Where the CLI writes. */
export interface Output {
  write(text: string): void;
  /** True for a terminal: the live status line is redrawn in place. */
  isTTY?: boolean;
}

/**
 * Renders deploy events for people: one line per decision (step, instance
 * ready, weights, analysis, rollback...), and the traffic samples as a status
 * line — redrawn in place on a terminal, every fifth sample elsewhere (CI
 * logs), so the log shows the deploy's pulse without drowning in it.
 */
export function createProgressRenderer(output: Output): (event: DeployEvent) => void {
  let startedAt: number | undefined;
  let statusShown = false;
  let samples = 0;
  const clearStatus = (): void => {
    if (statusShown && output.isTTY) output.write('\r\x1b[2K');
    statusShown = false;
  };
  return (event) => {
    startedAt ??= event.atMs;
    const at = `+${((event.atMs - startedAt) / 1000).toFixed(1).padStart(5)}s`;
    if (event.type === 'sample') {
      samples += 1;
      const line = `${at}  ${formatSample((event.data?.['releases'] ?? {}) as Record<string, ReleaseSample>)}`;
      if (output.isTTY) {
        output.write(`\r\x1b[2K${line}`);
        statusShown = true;
      } else if (samples % 5 === 1) {
        output.write(`${line}\n`);
      }
      return;
    }
    clearStatus();
    // A gate's evidence follows its verdict on lines of their own, under the message.
    const [first, ...more] = event.message.split('\n');
    const mark = event.type === 'gate' ? gateSymbol(event.data?.['status']) : symbol(event.type);
    output.write(`${at}  ${mark} ${first ?? ''}\n${more.map((line) => `${' '.repeat(at.length + 4)}${line}\n`).join('')}`);
  };
}

function formatSample(releases: Record<string, ReleaseSample>): string {
  const parts = Object.entries(releases).map(([release, r]) => {
    const latency = r.p99Ms === undefined ? '' : ` p99 ${r.p99Ms.toFixed(0)}ms`;
    const errors = r.errorRate > 0 ? ` ${r.errorRate.toFixed(1)} err/s` : '';
    return `${release}: ${r.weightPercent.toFixed(0)}% ${r.requestRate.toFixed(0)} req/s${errors}${latency} (${r.backends} up)`;
  });
  return parts.length === 0 ? 'no instance in the router yet' : parts.join('  |  ');
}

function gateSymbol(status: unknown): string {
  return status === 'pass' ? '✔' : status === 'fail' ? '✖' : '○';
}

function symbol(type: string): string {
  switch (type) {
    case 'succeeded':
    case 'broker-deployment-recorded':
    case 'instance-ready':
    case 'promoted':
      return '✔';
    case 'rollback':
    case 'refused':
    case 'broker-record-failed':
    case 'rolled-back':
    case 'failed':
    case 'instance-lost':
    case 'instance-stop-failed':
      return '✖';
    case 'analysis':
    case 'shadow':
      return '◆';
    case 'baseline-failed':
      return '⚠';
    case 'paused':
      return '⏸';
    case 'step':
      return '▶';
    default:
      return '·';
  }
}

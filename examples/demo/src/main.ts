// `pnpm demo`: Baton's main job on this machine, start to finish, in about a minute.
import { createProgressRenderer } from '@baton/cli';
import { formatDemoSummary, runDemo } from './demo.js';

const renderer = createProgressRenderer({ write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY === true });
try {
  const result = await runDemo({ onEvent: renderer, log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(formatDemoSummary(result));
  const [, v2, v3] = result.phases;
  const asPromised = result.failedByDeploys === 0 && v2?.outcome.phase === 'succeeded' && v3?.outcome.phase === 'rolled-back';
  if (!asPromised) process.stdout.write('\nThe demo did not go as promised: see the reports above.\n');
  process.exitCode = asPromised ? 0 : 1;
} catch (error) {
  process.stderr.write(`demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}

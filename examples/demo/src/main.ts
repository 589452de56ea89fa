// `pnpm demo [--router builtin|haproxy|nginx]`: Baton's main job on this machine, start to finish, in about a minute.
import { parseArgs } from 'node:util';
import { createProgressRenderer } from '@baton/cli';
import { formatDemoSummary, runDemo, type DemoOptions } from './demo.js';

const ROUTERS = ['auto', 'builtin', 'haproxy', 'nginx'] as const;
const { values } = parseArgs({ options: { router: { type: 'string', default: 'auto' } }, allowPositionals: false });
if (!(ROUTERS as readonly string[]).includes(values.router)) {
  process.stderr.write(`demo: --router is one of ${ROUTERS.join(', ')}; got ${values.router}\n`);
  process.exit(2);
}
const router = values.router as NonNullable<DemoOptions['router']>;

const renderer = createProgressRenderer({ write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY === true });
try {
  const result = await runDemo({ router, onEvent: renderer, log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(formatDemoSummary(result));
  const [, v2, v3] = result.phases;
  const asPromised = result.failedByDeploys === 0 && v2?.outcome.phase === 'succeeded' && v3?.outcome.phase === 'rolled-back';
  if (!asPromised) process.stdout.write('\nThe demo did not go as promised: see the reports above.\n');
  process.exitCode = asPromised ? 0 : 1;
} catch (error) {
  process.stderr.write(`demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}

// `pnpm demo:docker [--router builtin|haproxy|nginx]`: `pnpm demo`'s story with the
// orders service as a container image, on two Docker engines — or, where Docker
// cannot run, one line saying why and how to fix it (and exit 0: nothing failed).
import { parseArgs } from 'node:util';
import { dockerUnavailable } from '@baton/testing/docker';
import { runDockerDemo, type DockerDemoOptions } from './docker-demo.js';
import { formatDockerDemoSummary } from './docker-summary.js';

const ROUTERS = ['auto', 'builtin', 'haproxy', 'nginx'] as const;
const { values } = parseArgs({ options: { router: { type: 'string', default: 'auto' } }, allowPositionals: false });
if (!(ROUTERS as readonly string[]).includes(values.router)) {
  process.stderr.write(`demo:docker: --router is one of ${ROUTERS.join(', ')}; got ${values.router}\n`);
  process.exit(2);
}
const router = values.router as NonNullable<DockerDemoOptions['router']>;

const unavailable = dockerUnavailable();
if (unavailable !== undefined) {
  process.stdout.write(`demo:docker: skipped — the demo runs the machine's Docker engine and starts a second one of its own, which it cannot do here: ${unavailable}.\n(pnpm demo shows the same story with local processes.)\n`);
  process.exit(0);
}

// Ctrl-C: the deploy in progress stops at a safe point and the demo removes what it started (the second engine too); again to leave at once.
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write(`\ndemo:docker: ${signal}: stopping and tearing down (again to leave at once).\n`);
    stop.abort(new Error(`interrupted by ${signal}`));
  });
}

try {
  const result = await runDockerDemo({ router, signal: stop.signal, write: (text) => process.stdout.write(text) });
  process.stdout.write(formatDockerDemoSummary(result));
  const [, v2, v3] = result.phases;
  const engines = new Set(result.placement.map((where) => where.engine));
  const asPromised = result.failedByDeploys === 0 && v2?.outcome.phase === 'succeeded' && v3?.outcome.phase === 'rolled-back' && engines.size === result.engines.length;
  if (!asPromised) process.stdout.write('\nThe demo did not go as promised: see the reports above.\n');
  process.exitCode = asPromised ? 0 : 1;
} catch (error) {
  process.stderr.write(`demo:docker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}

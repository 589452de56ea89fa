import { isBatonError, jsonLogger } from '@baton/lifecycle';
import { ConfigError, formatListeningLine, loadConfig } from '@baton/example-orders-domain';
import { createApp } from './app.js';

// The runner: configuration from the environment, then Baton's serve(), which
// owns signals and the exit code. stdout carries one JSON "listening" line
// (scripts read the port from it); every log line goes to stderr.
try {
  const config = loadConfig();
  const shutdown: Record<string, number> = { propagationDelayMs: config.propagationDelayMs };
  if (config.drainTimeoutMs !== undefined) shutdown.drainTimeoutMs = config.drainTimeoutMs;
  if (config.gracePeriodMs !== undefined) shutdown.gracePeriodMs = config.gracePeriodMs;
  const { baton } = createApp({
    release: config.release,
    lifecycle: { logger: jsonLogger({ name: 'orders-express' }), shutdown },
  });
  const served = await baton.serve({
    port: config.port,
    host: config.host,
    ...(config.startupDelayMs > 0 ? { startup: ({ signal }) => sleep(config.startupDelayMs, signal) } : {}),
  });
  process.stdout.write(formatListeningLine({ port: served.port, release: config.release, framework: 'express' }));
} catch (error) {
  fail(error);
}

function fail(error: unknown): never {
  const message = error instanceof ConfigError || isBatonError(error) ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`orders-express: cannot start: ${message}\n`);
  process.exit(1);
}

/** Artificial startup work (BATON_STARTUP_DELAY_MS); a shutdown during startup cuts it short. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

import { jsonLogger } from '@baton/lifecycle';
import { failStartup, formatListeningLine, loadConfig, metricsEndpointFrom, orderStoreFrom, scheduleCrash, shutdownBudgetFrom, startupWorkFrom } from '@baton/example-orders-domain';
import { createApp } from './app.js';

// The runner: configuration from the environment, then Baton's serve(), which
// owns signals and the exit code. stdout carries one JSON "listening" line
// (scripts read the port from it); every log line goes to stderr.
try {
  const config = loadConfig();
  const logger = jsonLogger({ name: 'orders-express' });
  // In memory, or PostgreSQL when DATABASE_URL is set; opened (migrated) by the startup work, before readiness.
  const store = orderStoreFrom(config, (error) => logger.warn(error.message, { store: 'postgres' }));
  const { baton } = createApp({
    release: config.release,
    store,
    lifecycle: { logger, shutdown: shutdownBudgetFrom(config) },
    metrics: { processMetrics: true, ...(config.instance === undefined ? {} : { instance: config.instance }) },
    metricsEndpoint: metricsEndpointFrom(config),
    toggles: config.toggles,
    ...(config.toggleOverrides === undefined ? {} : { toggleOverrides: config.toggleOverrides }),
    ...(config.faults === undefined ? {} : { faults: config.faults }),
  });
  const served = await baton.serve({ port: config.port, host: config.host, ...startupWorkFrom(config, store) });
  process.stdout.write(formatListeningLine({ port: served.port, release: config.release, framework: 'express' }));
  scheduleCrash('orders-express', config);
} catch (error) {
  failStartup('orders-express', error);
}

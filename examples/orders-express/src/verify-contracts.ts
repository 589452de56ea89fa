// CI, once per build: verifies this build against its consumers' pacts
// (examples/orders-consumer/pacts) through Baton, and writes the record the
// deploy's contracts gate reads (pacts/verification/<version>.json).
//
//   node dist/verify-contracts.js v2
import { fileURLToPath } from 'node:url';
import { defineStates, verifyProvider } from '@baton/contracts';
import { ordersProviderStates, type OrdersProviderStates } from '@baton/example-orders-domain';
import { createApp } from './app.js';

const version = process.argv[2] ?? process.env['RELEASE'];
if (version === undefined) {
  process.stderr.write('usage: node dist/verify-contracts.js <release version>\n');
  process.exit(2);
}
const pacts = fileURLToPath(new URL('../../orders-consumer/pacts', import.meta.url));
const resultsFile = fileURLToPath(new URL(`../pacts/verification/${version}.json`, import.meta.url));
const orders = createApp({ lifecycle: { shutdown: { propagationDelayMs: 0 } } });
const result = await verifyProvider({
  start: () => orders.baton.serve({ port: 0, host: '127.0.0.1', signals: false, exit: false }),
  provider: 'orders-service',
  pacts: { dir: pacts },
  states: defineStates<OrdersProviderStates>()(ordersProviderStates(orders.store)),
  providerVersion: version,
  resultsFile,
});
process.stdout.write(result.passed ? `orders-service ${version}: every pact verified; recorded in ${resultsFile}\n` : `orders-service ${version}: verification failed\n${result.summary}\nrecorded in ${resultsFile}\n`);
process.exitCode = result.passed ? 0 : 1;

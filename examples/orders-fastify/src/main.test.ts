import { fileURLToPath } from 'node:url';
import { describeOrdersService } from '@baton/example-orders-domain/service-contract';

// The built runner, as operators start it: `node dist/main.js`.
describeOrdersService('fastify', fileURLToPath(new URL('../dist/main.js', import.meta.url)));

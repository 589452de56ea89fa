import { fileURLToPath } from 'node:url';
import { describeOrdersService } from '@baton/example-orders-domain/service-contract';

// The built runner on a real PostgreSQL (DATABASE_URL), as `pnpm example` runs it: the same suite as
// main.test.ts, each test on a fresh database the service migrates at startup.
describeOrdersService('express', fileURLToPath(new URL('../dist/main.js', import.meta.url)), { store: 'postgres' });
